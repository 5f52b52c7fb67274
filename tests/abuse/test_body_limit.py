"""Every endpoint that takes a body refuses an oversized one with 413, before reading it."""

import pytest

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
