from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from campaigns.views import follow_link
from smsgate.api.media_files import serve_media
from smsgate.console.dashboard_view import dashboard_view
from smsgate.console.health import healthz
from smsgate.console.metrics import metrics
from templates.api import TemplateListCreateApi

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),  # the operator console
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="admin-dashboard"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("r/<str:code>", follow_link, name="tracked-link"),
    path("m/<str:token>", serve_media, name="media-file"),  # signed MMS media (smsgate.media)
    path("api/v1/sms/templates", TemplateListCreateApi.as_view(), name="sms-templates"),
    path("api/v1/sms/", include("smsgate.api.urls")),
    path("api/v1/", include("leads.urls")),
    path("api/webhooks/", include("webhooks.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]
