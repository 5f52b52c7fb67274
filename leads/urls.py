from django.urls import path

from leads import apis

# Mounted under "api/v1/"; no trailing slash, as in the contract.
urlpatterns = [
    path("leads", apis.LeadCreateApi.as_view(), name="lead-create"),
    path("leads/<int:pk>", apis.LeadDetailApi.as_view(), name="lead-detail"),
]
