from django.urls import path

from leads import apis

# Mounted at "api/v1/leads" (no trailing slash, as in the contract).
urlpatterns = [
    path("", apis.LeadCreateApi.as_view(), name="lead-create"),
    path("/<int:pk>", apis.LeadDetailApi.as_view(), name="lead-detail"),
]
