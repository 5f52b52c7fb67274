from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Payment webhooks and recovery"
    periodic_tasks = {"Process TriboPay postbacks": ("webhooks.dispatch_events", 2)}

    def ready(self):
        from webhooks import tasks  # noqa: F401  (registers the tasks that webhooks.services publishes by name)
