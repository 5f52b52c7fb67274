from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Payment webhooks and recovery"
    periodic_tasks = {"Process TriboPay postbacks": ("webhooks.dispatch_events", 2)}

    def ready(self):
        from templates.ab import register_goal
        from templates.models import MessageTemplate
        from webhooks import tasks  # noqa: F401  (registers the tasks that webhooks.services publishes by name)
        from webhooks.selectors import recovered_by_variant
        from webhooks.services import RECOVERY_SOURCE

        # A/B tests with the payments goal count payments made after their recovery SMS (templates imports no app).
        register_goal(MessageTemplate.AbGoal.PAYMENTS, source_type=RECOVERY_SOURCE, conversions=recovered_by_variant)
