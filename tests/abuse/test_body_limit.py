"""Every endpoint that takes a body refuses an oversized one with 413, before reading it; only the admin's campaign
form takes a recipients CSV of up to CAMPAIGN_UPLOAD_MAX_BYTES more."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.conftest import client_for

POST_URLS = ["/api/v1/sms/send", "/api/v1/sms/bulk", "/api/v1/sms/templates", "/api/v1/leads",
             "/api/v1/sms/delivery/twilio", "/api/v1/sms/inbound/twilio", "/api/webhooks/tribopay/?token=x",
             "/api/webhooks/test-sms/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", POST_URLS)
def test_an_oversized_body_is_413(url, tenant, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    response = client_for(tenant).post(url, data="x" * (65 * 1024), content_type="application/json")
    assert response.status_code == 413


def multipart_post(client, url: str, size: int):
    """POST a form with a file of `size` bytes, as a browser uploads a CSV."""
    return client.post(url, {"recipients_csv": SimpleUploadedFile("big.csv", b"x" * size)})


@pytest.mark.django_db
def test_only_the_admin_campaign_form_takes_an_upload_over_the_api_limit(admin_client, tenant, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    settings.CAMPAIGN_UPLOAD_MAX_BYTES = 256 * 1024
    campaign_form = reverse("admin:campaigns_campaign_add")
    assert multipart_post(admin_client, campaign_form, 200 * 1024).status_code == 200  # the form, with its errors
    assert multipart_post(admin_client, campaign_form, 330 * 1024).status_code == 413  # past both limits
    assert multipart_post(admin_client, reverse("admin:campaigns_contact_add"), 200 * 1024).status_code == 413
    assert multipart_post(client_for(tenant), "/api/v1/sms/send", 200 * 1024).status_code == 413
