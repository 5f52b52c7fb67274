from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"
    periodic_tasks = {"Start due campaigns": ("campaigns.start_due_campaigns", 15)}
