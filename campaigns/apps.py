from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"
    periodic_tasks = {"Start due campaigns": ("campaigns.start_due_campaigns", 15)}

    def ready(self):
        from django.db.models.signals import pre_delete

        from campaigns.models import Campaign
        from campaigns.selectors import clicked_by_variant, variant_clicks
        from campaigns.services import SOURCE, cancel_on_delete
        from smsgate.console.dashboard import register_variant_clicks
        from templates.ab import register_goal
        from templates.models import MessageTemplate

        register_variant_clicks(variant_clicks)  # the console shows clicks per variant without importing campaigns
        # A/B tests with the clicks goal count recipients who followed their link (templates imports no app).
        register_goal(MessageTemplate.AbGoal.CLICKS, source_type=SOURCE, conversions=clicked_by_variant)
        # However a campaign is deleted (console, bulk action, shell), what it has not sent is cancelled: a paused
        # campaign's held messages would otherwise wait for ever.
        pre_delete.connect(cancel_on_delete, sender=Campaign, dispatch_uid="campaigns.cancel_on_delete")
