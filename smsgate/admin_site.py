"""The admin as the operator console: titled smsgate, with what operators use most listed first.

INSTALLED_APPS names `smsgate.admin_site.ConsoleAdminConfig` instead of `django.contrib.admin`, so
`admin.site` (and every `@admin.register`) is a `ConsoleSite`.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

# Apps and models in the order operators reach for them; infrastructure last. Unlisted ones keep
# Django's alphabetical order after the listed ones (apps) or at the end of their app (models).
APP_ORDER = ["smsgate", "campaigns", "webhooks", "leads", "templates", "auth", "django_celery_beat"]
MODEL_ORDER = {
    "smsgate": ["Message", "OptOut", "ProviderCallback", "Tenant", "ApiKey"],
    "campaigns": ["Campaign", "Recipient", "Contact", "ContactGroup", "Tag"],
    "webhooks": ["Payment", "WebhookEvent", "RecoverySettings"],
}


def _rank(order: list[str], name: str) -> int:
    return order.index(name) if name in order else len(order)


class ConsoleSite(admin.AdminSite):
    site_header = "smsgate"
    site_title = "smsgate"
    index_title = "Console"

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        apps.sort(key=lambda app: _rank(APP_ORDER, app["app_label"]))
        for app in apps:
            order = MODEL_ORDER.get(app["app_label"], [])
            app["models"].sort(key=lambda model: _rank(order, model["object_name"]))
        return apps


class ConsoleAdminConfig(AdminConfig):
    default_site = "smsgate.admin_site.ConsoleSite"
