from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Payment webhooks and recovery"
    # Read by setup_periodic_tasks once it collects schedules from every app (on main).
    periodic_tasks = {"Process lost TriboPay postbacks": ("webhooks.process_stale_events", 30)}
