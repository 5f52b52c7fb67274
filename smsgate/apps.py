from django.apps import AppConfig


class SmsgateConfig(AppConfig):
    name = "smsgate"
    verbose_name = "SMS gateway"
    periodic_tasks = {
        "Dispatch due and stale SMS": ("smsgate.sweep_due_messages", 5),
        "Poll delivery status where carriers push none": ("smsgate.poll_delivery_statuses", 60),
        "Delete MMS uploads past their retention": ("smsgate.delete_old_media", 3600),
    }

    def ready(self):
        from smsgate import checks  # noqa: F401  (registers the settings checks)
        from smsgate.api import schema  # noqa: F401  (registers the OpenAPI auth scheme)
        from smsgate.sending import tasks  # noqa: F401  (not found by autodiscovery in a subpackage; named tasks)
