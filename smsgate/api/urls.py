from django.urls import path

from smsgate.api import callbacks, views

urlpatterns = [
    path("send", views.SmsSendApi.as_view(), name="sms-send"),
    path("bulk", views.SmsBulkApi.as_view(), name="sms-bulk"),
    path("media", views.MediaUploadApi.as_view(), name="sms-media"),
    path("stats", views.SmsStatsApi.as_view(), name="sms-stats"),
    path("balance", views.SmsBalanceApi.as_view(), name="sms-balance"),
    path("prices", views.SmsPricesApi.as_view(), name="sms-prices"),
    path("logs", views.SmsLogListApi.as_view(), name="sms-logs"),
    path("logs/<int:pk>", views.SmsLogDetailApi.as_view(), name="sms-log-detail"),
    path("delivery/<slug:provider>", callbacks.delivery_receipt, name="sms-delivery"),
    path("inbound/<slug:provider>", callbacks.inbound_message, name="sms-inbound"),
]
