from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"
    periodic_tasks = {"Start due campaigns": ("campaigns.start_due_campaigns", 15)}

    def ready(self):
        from campaigns.selectors import variant_clicks
        from smsgate.console.dashboard import register_variant_clicks

        register_variant_clicks(variant_clicks)  # the console shows clicks per variant without importing campaigns
