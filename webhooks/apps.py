from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Payment webhooks and recovery"
    periodic_tasks = {"Process TriboPay postbacks": ("webhooks.dispatch_events", 2)}
