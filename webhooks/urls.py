from django.urls import path

from smsgate.console.health import healthz
from webhooks import api, views

urlpatterns = [
    path("tribopay/", views.tribopay_postback, name="webhooks-tribopay"),
    path("events/", api.WebhookEventListApi.as_view(), name="webhooks-events"),
    path("events/<int:pk>/", api.WebhookEventDetailApi.as_view(), name="webhooks-event-detail"),
    path("sms-logs/", api.RecoverySmsLogApi.as_view(), name="webhooks-sms-logs"),
    path("test-sms/", api.TestSmsApi.as_view(), name="webhooks-test-sms"),
    path("stats/", api.RecoveryStatsApi.as_view(), name="webhooks-stats"),
    path("health/", healthz, name="webhooks-health"),
]
