"""The upgrade's data migrations: campaign messages linked to their recipients, consents carried over.

The SQL of campaigns 0005 and leads 0002 runs here on data made with today's models (the tables it reads
and writes have the same columns), as it runs on a database being upgraded.
"""

from importlib import import_module

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.models import Campaign, Contact, Recipient, RecipientMessage
from leads.models import Lead
from smsgate.models import MarketingConsent
from tests.sending import submit_one

pytestmark = pytest.mark.django_db
CAMPAIGNS_0005 = import_module("campaigns.migrations.0005_recipient_message")
LEADS_0002 = import_module("leads.migrations.0002_marketing_consents")


def run(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def test_messages_written_before_are_linked_to_their_recipient_and_give_back_custom_id(tenant):
    campaign = Campaign.objects.create(tenant=tenant, name="Old", body="Hi", message_type="transactional",
                                       status="enqueued")
    ana = Recipient.objects.create(campaign=campaign, phone="+5511911110001")
    bia = Recipient.objects.create(campaign=campaign, phone="+5511911110002")  # skipped: no message
    # How the enqueuer wrote them before: custom_id held the recipient's id.
    old = submit_one(tenant=tenant, to=ana.phone, body="Hi", source_type="campaign", source_id=campaign.pk,
                     custom_id=str(ana.pk))
    api = submit_one(tenant=tenant, to=ana.phone, body="Hi", source_type="api", custom_id=str(ana.pk))
    run(CAMPAIGNS_0005.LINK_MESSAGES)
    assert list(RecipientMessage.objects.values_list("recipient_id", "message_id")) == [(ana.pk, old.pk)]
    assert not RecipientMessage.objects.filter(recipient=bia).exists()
    old.refresh_from_db()
    api.refresh_from_db()
    assert (old.custom_id, api.custom_id) == ("", str(ana.pk))  # a caller's own reference is left alone


def test_contacts_and_pending_marketing_recipients_keep_receiving_marketing(tenant):
    Contact.objects.create(tenant=tenant, phone="+5511911110001")
    pending = Campaign.objects.create(tenant=tenant, name="Next week", body="Sale", message_type="marketing",
                                      status="scheduled")
    Recipient.objects.create(campaign=pending, phone="+5511911110002")
    done = Campaign.objects.create(tenant=tenant, name="Last year", body="Sale", message_type="marketing",
                                   status="enqueued")
    Recipient.objects.create(campaign=done, phone="+5511911110003")
    run(CAMPAIGNS_0005.EXISTING_CONSENTS)
    assert set(MarketingConsent.objects.values_list("phone", "source")) == {
        ("+5511911110001", "recorded before consent checks (upgrade)"),
        ("+5511911110002", "recorded before consent checks (upgrade)"),
    }


def test_leads_that_consented_to_marketing_become_consents(tenant):
    now = timezone.now()
    yes = Lead.objects.create(tenant=tenant, name="Ana", phone="+5511911110001", consent_gdpr=True,
                              consent_marketing=True, consent_at=now)
    Lead.objects.create(tenant=tenant, name="Ana again", phone="+5511911110001", consent_gdpr=True,
                        consent_marketing=True, consent_at=now)
    Lead.objects.create(tenant=tenant, name="Bia", phone="+5511911110002", consent_gdpr=True,
                        consent_marketing=False, consent_at=now)
    run(LEADS_0002.LEAD_CONSENTS)
    assert list(MarketingConsent.objects.values_list("phone", "source")) == [
        ("+5511911110001", f"lead form, lead #{yes.pk}")]
