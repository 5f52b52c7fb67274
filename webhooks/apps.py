from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Payment webhooks and recovery"
    periodic_tasks = {"Process lost TriboPay postbacks": ("webhooks.process_stale_events", 30)}
