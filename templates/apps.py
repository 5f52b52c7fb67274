from django.apps import AppConfig
from django.db.models.signals import post_save


class TemplatesConfig(AppConfig):
    name = "templates"
    label = "templates"
    verbose_name = "Message templates"
    periodic_tasks = {"Pick the winners of A/B tests": ("templates.evaluate_ab_tests", 300)}

    def ready(self):
        from smsgate.models import Tenant

        post_save.connect(_seed_new_tenant, sender=Tenant, dispatch_uid="templates.seed_new_tenant")


def _seed_new_tenant(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """A new tenant gets its own copy of the journeys' texts to edit (templates.system); fixtures load as is."""
    if created and not raw:
        from templates.system import seed_system_templates

        seed_system_templates(instance)
