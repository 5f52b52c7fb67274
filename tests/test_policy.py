"""The sending policy: one ordered list of checks on every road (API, bulk, journeys, campaigns)."""

from datetime import UTC, datetime
from unittest import mock

import pytest
from django.urls import reverse

from campaigns.audience import import_csv
from campaigns.models import Campaign, Contact
from campaigns.services import campaign_schedule
from campaigns.tasks import start_due_campaigns_task
from leads.services import lead_create, lead_send_sms
from providers.memory import MemoryProvider
from smsgate.consents import record_marketing_consent
from smsgate.models import MarketingConsent, Message, OptOut
from smsgate.sending import policy
from smsgate.sending.policy import Refusal
from smsgate.sending.submit import PolicyRefused, SmsRequest, submit
from smsgate.sending.tasks import sweep_due_messages_task
from tests.campaign_upload import upload_csv
from tests.sending import submit_one

pytestmark = pytest.mark.django_db
PHONE = "+5511987654321"
OTHER = "+5511987650000"


def test_the_checks_run_in_the_documented_order():
    assert policy.check_names() == ["opt-out", "safeguard", "marketing consent", "quiet hours", "length"]


def test_marketing_through_the_api_needs_a_recorded_consent(api, tenant):
    payload = {"phone": PHONE, "message": "50% off today", "message_type": "marketing"}
    refused = api.post("/api/v1/sms/send", payload, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"phone": ["no marketing consent recorded for this number"]}
    assert not Message.objects.exists()

    record_marketing_consent(tenant=tenant, phone=PHONE, source="lead form")
    assert api.post("/api/v1/sms/send", payload, format="json").status_code == 202


def test_transactional_messages_need_no_consent(api):
    response = api.post("/api/v1/sms/send", {"phone": PHONE, "message": "Your order shipped"}, format="json")
    assert response.status_code == 202


def test_a_consent_of_another_tenant_does_not_count(tenant, other_tenant):
    record_marketing_consent(tenant=other_tenant, phone=PHONE, source="their form")
    with pytest.raises(PolicyRefused, match="no marketing consent"):
        submit_one(tenant=tenant, to=PHONE, body="Sale", message_type="marketing")


def test_an_opt_out_wins_over_a_consent(tenant):
    record_marketing_consent(tenant=tenant, phone=PHONE, source="lead form")
    OptOut.objects.create(tenant=tenant, phone=PHONE, source="keyword", keyword="STOP")
    with pytest.raises(PolicyRefused, match="opted out"):
        submit_one(tenant=tenant, to=PHONE, body="Sale", message_type="marketing")


def test_bulk_reports_each_refused_entry_and_writes_nothing(api, tenant):
    record_marketing_consent(tenant=tenant, phone=PHONE, source="lead form")
    response = api.post("/api/v1/sms/bulk", {"message_type": "marketing", "messages": [
        {"phone": PHONE, "message": "Sale"}, {"phone": OTHER, "message": "Sale"}]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"messages": {"1": {"phone": ["no marketing consent recorded for this number"]}}}
    assert not Message.objects.exists()


def test_a_lead_that_consents_can_receive_marketing_and_one_that_did_not_cannot(tenant):
    yes = lead_create(tenant=tenant, name="Ana", phone=PHONE, consent_gdpr=True, consent_marketing=True)
    no = lead_create(tenant=tenant, name="Bia", phone=OTHER, consent_gdpr=True, consent_marketing=False)
    assert MarketingConsent.objects.get(tenant=tenant, phone=PHONE).source == f"lead form, lead #{yes.pk}"
    assert lead_send_sms(phone=yes.phone, body="Sale", lead=yes, message_type="marketing").status == "queued"
    refused = lead_send_sms(phone=no.phone, body="Sale", lead=no, message_type="marketing")
    assert (refused.status, refused.status_reason) == ("cancelled", "no marketing consent recorded for this number")


def test_a_marketing_campaign_sends_only_to_numbers_with_consent(tenant):
    campaign = Campaign.objects.create(tenant=tenant, name="Promo", body="Sale today", message_type="marketing")
    import_csv(campaign, f"phone\n{PHONE}\n")  # uploaded without the consent box ticked
    import_csv(campaign, f"phone\n{OTHER}\n", consent_source="CSV upload with consent")
    campaign_schedule(campaign)
    start_due_campaigns_task()  # eager: enqueues
    sweep_due_messages_task()
    by_phone = {m.to: m for m in Message.objects.all()}
    assert (by_phone[PHONE].status, by_phone[PHONE].status_reason) == (
        "cancelled", "no marketing consent recorded for this number")
    assert by_phone[OTHER].status == "sent"
    assert [m["to"] for m in MemoryProvider.outbox] == [OTHER]
    assert {r.phone: r.sent.message_id for r in campaign.recipients.all()} == {
        PHONE: by_phone[PHONE].pk, OTHER: by_phone[OTHER].pk}
    assert {m.custom_id for m in by_phone.values()} == {""}  # the caller's reference is not borrowed


def test_a_transactional_campaign_needs_no_consent(tenant):
    campaign = Campaign.objects.create(tenant=tenant, name="Notice", body="School closed tomorrow",
                                       message_type="transactional")
    import_csv(campaign, f"phone\n{PHONE}\n")
    campaign_schedule(campaign)
    start_due_campaigns_task()  # eager: enqueues
    sweep_due_messages_task()
    assert Message.objects.get().status == "sent"


def test_marketing_submitted_in_quiet_hours_is_held_until_they_end(tenant, settings):
    settings.SMS_QUIET_HOURS = "21:00-08:00"
    record_marketing_consent(tenant=tenant, phone=PHONE, source="lead form")
    night = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)  # 23:00 in São Paulo
    with mock.patch("django.utils.timezone.now", return_value=night):
        held = submit_one(tenant=tenant, to=PHONE, body="Sale", message_type="marketing")
        code = submit_one(tenant=tenant, to=PHONE, body="Code 1234", message_type="otp")
    assert (held.status, held.due_at) == ("scheduled", datetime(2026, 6, 10, 11, 0, tzinfo=UTC))  # 08:00 local
    assert held.status_reason == "held by quiet hours until 2026-06-10T08:00-03:00"
    assert code.status == "queued"


def test_a_journey_with_a_text_over_the_limit_is_kept_cancelled_with_the_reason(tenant, settings):
    settings.SMS_MAX_BODY_CHARS = 10
    message = submit(tenant, [SmsRequest(to=PHONE, body="x" * 11)], cancel_refused=True).one()
    assert (message.status, message.status_reason) == ("cancelled", "The message is 11 characters; the limit is 10.")


def test_an_app_registers_its_own_check_in_place(tenant, monkeypatch):
    monkeypatch.setattr(policy, "_CHECKS", list(policy._CHECKS))

    def no_sundays(batch):
        return {i: Refusal("message", "no SMS on a Sunday") for i, _ in enumerate(batch.candidates)}

    policy.register_check("no sundays", no_sundays, before="length")
    assert policy.check_names()[-2:] == ["no sundays", "length"]
    with pytest.raises(PolicyRefused) as refused:
        submit_one(tenant=tenant, to=PHONE, body="hello")
    assert refused.value.message_dict == {"message": ["no SMS on a Sunday"]}
    OptOut.objects.create(tenant=tenant, phone=PHONE)
    with pytest.raises(PolicyRefused, match="opted out"):  # the first check in the order is the reason given
        submit_one(tenant=tenant, to=PHONE, body="hello")


def test_an_upload_records_consent_only_when_the_operator_attests_it(admin_client, tenant):
    upload_csv(admin_client, tenant, f"phone,name\n{PHONE},Ana\n".encode(), name="No box")
    assert not MarketingConsent.objects.exists()
    upload_csv(admin_client, tenant, f"phone,name\n{OTHER},Bia\n".encode(), name="Box ticked", consent=True)
    consent = MarketingConsent.objects.get()
    assert consent.phone == OTHER and consent.source.startswith("CSV upload, campaign #")


def test_the_contacts_console_records_consent_for_the_selected_contacts(admin_client, tenant):
    ana = Contact.objects.create(tenant=tenant, phone=PHONE, name="Ana")
    Contact.objects.create(tenant=tenant, phone=OTHER, name="Bia")
    response = admin_client.post(reverse("admin:campaigns_contact_changelist"),
                                 {"action": "record_marketing_consent", "_selected_action": [ana.pk]}, follow=True)
    assert "Marketing consent recorded for 1 new number(s)." in response.content.decode()
    assert list(MarketingConsent.objects.values_list("phone", flat=True)) == [PHONE]


@pytest.mark.parametrize("typed", ["not a number", "+1", "<script>alert(1)</script>", "+5511987654321 ext 9"])
def test_the_consent_page_refuses_a_number_it_cannot_read(admin_client, tenant, typed):
    response = admin_client.post(reverse("admin:smsgate_marketingconsent_add"),
                                 {"tenant": tenant.pk, "phone": typed, "source": "phone call"})
    assert response.status_code == 200 and response.context["adminform"].form.errors["phone"]
    assert not MarketingConsent.objects.exists()


def test_the_consent_page_stores_the_number_in_e164(admin_client, tenant):
    admin_client.post(reverse("admin:smsgate_marketingconsent_add"),
                      {"tenant": tenant.pk, "phone": "(11) 98765-4321", "source": "phone call, 7 Dec"})
    assert MarketingConsent.objects.get().phone == PHONE
