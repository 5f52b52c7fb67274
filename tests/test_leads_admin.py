"""Leads in the admin and in the OpenAPI schema."""

import pytest

from leads.services import lead_create

pytestmark = pytest.mark.django_db


def test_operators_see_leads_with_their_consent_and_a_link_to_their_sms(admin_client, tenant):
    lead = lead_create(tenant=tenant, name="Anna", phone="+79991234567", channel="sms", consent_gdpr=True,
                       consent_ip="203.0.113.7", consent_user_agent="Mozilla/5.0")
    listing = admin_client.get("/admin/leads/lead/")
    assert listing.status_code == 200 and "Anna" in listing.content.decode()
    page = admin_client.get(f"/admin/leads/lead/{lead.pk}/change/").content.decode()
    assert "203.0.113.7" in page and "Mozilla/5.0" in page
    assert f"/admin/smsgate/message/?source_type=lead&amp;source_id={lead.pk}" in page
    assert admin_client.get(f"/admin/smsgate/message/?source_type=lead&source_id={lead.pk}").status_code == 200
    assert admin_client.get("/admin/leads/lead/add/").status_code == 403


def test_the_schema_documents_the_leads_api(client):
    schema = client.get("/api/schema/").content.decode()
    assert "/api/v1/leads:" in schema and "/api/v1/leads/{id}:" in schema
    assert "LeadCreateInput" in schema and "next_action" in schema
