"""Campaigns: audiences, CSV, scheduling, per-recipient variables, tracked links, cancel, variant stats."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.audience import import_csv
from campaigns.models import Campaign, Click, Contact, ContactGroup, Recipient, Tag
from campaigns.selectors import progress_of, variant_stats
from campaigns.services import campaign_cancel, campaign_enqueue, campaign_schedule, start_due_campaigns
from campaigns.tasks import start_due_campaigns_task
from providers.base import StatusUpdate
from providers.memory import MemoryProvider
from smsgate.consents import record_marketing_consent
from smsgate.models import Message, OptOut
from smsgate.sending.tasks import sweep_due_messages_task
from smsgate.tracking.receipts import record_delivery
from templates.models import MessageTemplate, TemplateVariant
from templates.services import pick_variant
from tests.campaign_upload import form_errors, upload_csv, user_messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def audience(tenant):
    parents = Tag.objects.create(tenant=tenant, name="parents")
    club = ContactGroup.objects.create(tenant=tenant, name="club")
    ana = Contact.objects.create(tenant=tenant, phone="+5511911110001", name="Ana", variables={"PRENOM_ENFANT": "Léo"})
    bia = Contact.objects.create(tenant=tenant, phone="+5511911110002", name="Bia", variables={"PRENOM_ENFANT": "Mia"})
    caio = Contact.objects.create(tenant=tenant, phone="+5511911110003", name="Caio",
                                  variables={"PRENOM_ENFANT": "Rui"})
    Contact.objects.create(tenant=tenant, phone="+5511911110004", name="Nobody")
    for contact in (ana, bia, caio):
        record_marketing_consent(tenant=tenant, phone=contact.phone, source="test audience")
    ana.tags.add(parents)
    bia.tags.add(parents)
    bia.groups.add(club)  # in both: must get one message
    caio.groups.add(club)
    return parents, club


def import_with_consent(campaign, text):
    """Import a CSV whose numbers agreed to marketing, as the operator attests with the upload's checkbox."""
    return import_csv(campaign, text, consent_source="test upload")


def make_campaign(tenant, audience, **fields) -> Campaign:
    parents, club = audience
    fields.setdefault("body", "Bonjour {name}, {PRENOM_ENFANT} t'attend!")
    campaign = Campaign.objects.create(tenant=tenant, name="Kermesse", **fields)
    campaign.tags.add(parents)
    campaign.groups.add(club)
    return campaign


def run(campaign):
    """What beat and the workers do: start due campaigns (eager), then dispatch."""
    start_due_campaigns_task()
    sweep_due_messages_task()
    campaign.refresh_from_db()


def test_a_scheduled_campaign_waits_for_its_date_and_hour(tenant, audience):
    campaign = make_campaign(tenant, audience)
    campaign_schedule(campaign, when=timezone.now() + timedelta(hours=3))
    run(campaign)
    assert campaign.status == "scheduled" and Message.objects.count() == 0
    Campaign.objects.filter(pk=campaign.pk).update(scheduled_at=timezone.now())
    run(campaign)
    assert campaign.status == "enqueued"
    bodies = sorted(m["body"] for m in MemoryProvider.outbox)
    assert bodies == ["Bonjour Ana, Léo t'attend!", "Bonjour Bia, Mia t'attend!", "Bonjour Caio, Rui t'attend!"]


def test_csv_recipients_bring_their_own_variables(tenant):
    campaign = Campaign.objects.create(tenant=tenant, name="csv", body="Oi {name}, {PRENOM_ENFANT}!")
    result = import_with_consent(campaign, "telephone,name,PRENOM_ENFANT\n(11) 91111-0001,Ana,Léo\nnot a phone,X,Y\n"
                                  "+55 11 91111-0001,Dup,Dup\n11911110002,Bia,Mia\n")
    assert (result.rows, result.added) == (4, 2)
    assert len(result.errors) == 1 and result.errors[0].startswith("line 3")
    campaign_schedule(campaign)
    run(campaign)
    assert sorted(m["body"] for m in MemoryProvider.outbox) == ["Oi Ana, Léo!", "Oi Bia, Mia!"]


def test_a_csv_without_a_phone_column_is_refused(tenant):
    campaign = Campaign.objects.create(tenant=tenant, name="csv", body="hi")
    result = import_with_consent(campaign, "name\nAna\n")
    assert result.added == 0 and "no phone column" in result.errors[0]


def test_a_recipient_missing_a_variable_is_skipped_with_the_reason(tenant):
    campaign = Campaign.objects.create(tenant=tenant, name="csv", body="Oi {name}, {PRENOM_ENFANT}!")
    import_with_consent(campaign, "phone,name,PRENOM_ENFANT\n+5511911110001,Ana,\n+5511911110002,Bia,Mia\n")
    campaign_schedule(campaign)
    run(campaign)
    skipped = Recipient.objects.get(phone="+5511911110001")
    assert skipped.processed and "PRENOM_ENFANT" in skipped.error
    progress = progress_of(campaign)
    assert (progress.recipients, progress.processed, progress.skipped) == (2, 2, 1)


def test_opted_out_recipients_get_a_cancelled_message_not_an_sms(tenant, audience):
    OptOut.objects.create(tenant=tenant, phone="+5511911110001")
    campaign = make_campaign(tenant, audience)
    campaign_schedule(campaign)
    run(campaign)
    cancelled = Message.objects.get(to="+5511911110001")
    assert cancelled.status == "cancelled" and cancelled.status_reason == "recipient opted out"
    assert len(MemoryProvider.outbox) == 2


def test_tracked_links_redirect_and_count_clicks(tenant, client, settings):
    campaign = Campaign.objects.create(tenant=tenant, name="links", body="Veja {URL}",
                                       target_url="https://shop.example.com/promo")
    import_with_consent(campaign, "phone\n+5511911110001\n")
    campaign_schedule(campaign)
    run(campaign)
    [sent] = MemoryProvider.outbox
    link = sent["body"].removeprefix("Veja ")
    assert link.startswith("https://gateway.example.com/r/")
    response = client.get(link.removeprefix("https://gateway.example.com"), HTTP_USER_AGENT="phone")
    assert response.status_code == 302 and response["Location"] == "https://shop.example.com/promo"
    assert Click.objects.get().user_agent == "phone"
    assert client.get("/r/unknowncode").status_code == 404


def test_tracked_links_need_a_public_address(tenant, settings):
    settings.PUBLIC_BASE_URL = ""
    campaign = Campaign.objects.create(tenant=tenant, name="links", body="{URL}", target_url="https://x.example")
    with pytest.raises(Exception, match="PUBLIC_BASE_URL"):
        campaign_schedule(campaign)


def test_cancelling_stops_pending_messages(tenant, audience):
    campaign = make_campaign(tenant, audience)
    campaign_schedule(campaign)
    start_due_campaigns()  # claimed: no task enqueued in this test
    campaign_enqueue(campaign.pk)
    assert Message.objects.filter(status="queued").count() == 3
    assert campaign_cancel(campaign) == 3
    sweep_due_messages_task()
    assert MemoryProvider.outbox == []
    assert set(Message.objects.values_list("status", flat=True)) == {"cancelled"}


def test_a_cancelled_campaign_enqueues_nothing_more(tenant, audience):
    campaign = make_campaign(tenant, audience)
    campaign_schedule(campaign)
    start_due_campaigns()
    campaign_cancel(campaign)
    assert campaign_enqueue(campaign.pk) == 0
    assert Message.objects.count() == 0


def test_a_stalled_campaign_is_taken_over_and_resumes_without_duplicates(tenant, audience):
    campaign = make_campaign(tenant, audience)
    campaign_schedule(campaign)
    assert start_due_campaigns() == [campaign.pk]
    # The worker died after one recipient: simulate by enqueueing, then un-marking two recipients' rows.
    campaign_enqueue(campaign.pk)
    first_ids = set(Message.objects.values_list("pk", flat=True))
    Campaign.objects.filter(pk=campaign.pk).update(status="running",
                                                   heartbeat_at=timezone.now() - timedelta(minutes=10))
    assert start_due_campaigns() == [campaign.pk]
    assert campaign_enqueue(campaign.pk) == 0  # every recipient was already queued
    assert set(Message.objects.values_list("pk", flat=True)) == first_ids


def test_stats_per_variant(tenant, audience, client):
    template = MessageTemplate.objects.create(tenant=tenant, code="kermesse")
    TemplateVariant.objects.create(template=template, label="A", body="A {name} {URL}", weight=1)
    TemplateVariant.objects.create(template=template, label="B", body="B {name} {URL}", weight=1)
    campaign = make_campaign(tenant, audience, template=template, body="", target_url="https://x.example")
    campaign_schedule(campaign)
    run(campaign)
    messages = list(Message.objects.select_related("variant"))
    delivered = messages[0]
    record_delivery("memory", StatusUpdate(provider_message_id=delivered.provider_message_id, status="delivered"))
    link = delivered.body.split()[-1].removeprefix("https://gateway.example.com")
    for _ in range(2):  # one recipient clicking twice is one recipient clicked
        assert client.get(link).status_code == 302
    assert Click.objects.filter(variant=delivered.variant).count() == 2
    stats = {row["label"]: row for row in variant_stats(campaign)}
    assert sum(row["messages"] for row in stats.values()) == 3
    assert sum(row["sent"] for row in stats.values()) == 3
    row = stats[delivered.variant.label]
    assert row["delivered"] == 1 and row["clicked"] == 1
    for message in messages:
        assert message.body.startswith(message.variant.label)


def test_the_admin_shows_progress_and_uploads_a_csv(admin_client, tenant):
    response = admin_client.post(reverse("admin:campaigns_campaign_add"), {
        "tenant": tenant.pk, "name": "Upload", "body": "Oi {name}", "message_type": "marketing",
        "recipients_csv": io.BytesIO(b"phone,name\n+5511911110001,Ana\n"),
    })
    assert response.status_code == 302, response.content[:2000]
    campaign = Campaign.objects.get(name="Upload")
    assert campaign.recipients.count() == 1
    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert b"1 recipients, 0 processed" in page.content


@pytest.mark.parametrize("data", [
    pytest.param("phone,name\r\n+5511911110001,José\r\n".encode("cp1252"), id="Windows-1252 (Latin-1), CRLF"),
    pytest.param("phone;name\n+5511911110001;José\n".encode(), id="UTF-8, semicolons"),
    pytest.param("\ufeffphone\tname\n+5511911110001\tJosé\n".encode(), id="UTF-8 with BOM, tabs"),
    pytest.param("phone,name\r+5511911110001,José\r".encode(), id="CR-only line ends (old Mac Excel)"),
    pytest.param("phone\tname\r\n+5511911110001\tJosé\r\n".encode("utf-16"), id="UTF-16 (Excel Unicode text)"),
])
def test_the_admin_reads_csv_files_as_spreadsheets_write_them(admin_client, tenant, data):
    response = upload_csv(admin_client, tenant, data)
    assert form_errors(response) == []
    recipient = Recipient.objects.get(campaign__name="Upload")
    assert (recipient.phone, recipient.variables) == ("+5511911110001", {"name": "José"})  # not "Jos\ufffd"


@pytest.mark.parametrize(
    ("data", "error"),
    [(b"phone,name\n+5511911110001,Ana\n+5511911110002,B\x00ia\n", "line 3 holds the character U+0000"),
     (b"\x7fELF\x02\x01\x01\x00" + bytes(64), "not a text CSV"),
     (b"\x89PNG\r\n\x1a\n" + b"\x81\x8d" * 100, "neither UTF-8 nor Windows-1252"),
     (b"name,city\nAna,Rio\n", "no phone column"),
     (b'phone,name\n+5511911110001,"' + b"x" * 200_000 + b'"\n', "field larger than field limit")],
    ids=["NUL byte", "binary", "undecodable", "no phone column", "overlong field"],
)
def test_an_unreadable_csv_is_a_form_error_and_creates_nothing(admin_client, tenant, data, error):
    response = upload_csv(admin_client, tenant, data)
    assert response.status_code == 200
    assert any(error in message for message in form_errors(response)), form_errors(response)
    assert Campaign.objects.count() == 0 and Recipient.objects.count() == 0


def test_the_admin_reports_duplicate_and_refused_rows(admin_client, tenant):
    data = b"phone,name\n+5511911110001,Ana\n(11) 91111-0001,Ana again\nnot a phone,X\n+5511911110002,Bia\n"
    response = upload_csv(admin_client, tenant, data)
    assert Recipient.objects.count() == 2
    assert any(message.startswith("CSV: 4 rows, 2 recipients added, 1 duplicate numbers skipped, 1 rows refused. "
                                  "line 4:") for message in user_messages(response))


def test_a_60000_row_csv_uploads_through_the_admin_past_the_api_body_limit(admin_client, tenant, settings):
    data = b"phone,name\n" + b"".join(f"+55119{n:08d},Nome {n}\n".encode() for n in range(60_000))
    assert len(data) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # the API would answer 413
    response = upload_csv(admin_client, tenant, data)
    assert form_errors(response) == []
    assert Recipient.objects.filter(campaign__name="Upload").count() == 60_000


def test_a_csv_over_the_campaign_upload_limit_is_refused(admin_client, tenant, settings):
    settings.CAMPAIGN_UPLOAD_MAX_BYTES = 1000
    response = upload_csv(admin_client, tenant, b"phone\n" + b"+5511911110001\n" * 100)
    assert form_errors(response) == ["The file has 1,506 bytes; the limit is 1,000 bytes."]
    assert Campaign.objects.count() == 0


def test_the_recipients_admin_filters_those_the_enqueuer_has_passed(admin_client, tenant):
    campaign = Campaign.objects.create(tenant=tenant, name="Half done", body="Oi")
    first, second = (Recipient.objects.create(campaign=campaign, phone=p) for p in ("+5511911110001", "+5511911110002"))
    Campaign.objects.filter(pk=campaign.pk).update(enqueue_cursor=first.pk)
    url = reverse("admin:campaigns_recipient_changelist")
    assert [r.pk for r in admin_client.get(url, {"processed": "yes"}).context["cl"].result_list] == [first.pk]
    assert [r.pk for r in admin_client.get(url, {"processed": "no"}).context["cl"].result_list] == [second.pk]


def test_a_started_campaign_takes_no_more_csv_recipients(tenant, audience):
    campaign = make_campaign(tenant, audience)
    campaign_schedule(campaign)
    start_due_campaigns()
    result = import_with_consent(campaign, "phone\n+5511911119999\n")
    assert result.added == 0 and "takes no more recipients" in result.errors[0]


def test_a_crash_mid_chunk_resumes_writing_each_recipient_exactly_once(tenant, monkeypatch):
    """The worker dies after a chunk's messages were written but before its transaction committed."""
    import campaigns.services as services

    template = MessageTemplate.objects.create(tenant=tenant, code="fete")
    TemplateVariant.objects.create(template=template, label="A", body="A {name}/{PRENOM_ENFANT} {URL}", weight=1)
    TemplateVariant.objects.create(template=template, label="B", body="B {name}/{PRENOM_ENFANT} {URL}", weight=1)
    campaign = Campaign.objects.create(tenant=tenant, name="fete", template=template, target_url="https://x.example")
    lines = [f"+551191111{n:04d},Nome{n},Filho{n}" for n in range(7)]
    import_with_consent(campaign, "phone,name,PRENOM_ENFANT\n" + "\n".join(lines) + "\n+5511911119999,Sem,\n")
    OptOut.objects.create(tenant=tenant, phone="+5511911110004")
    campaign_schedule(campaign)
    start_due_campaigns()

    monkeypatch.setattr(services, "CHUNK", 3)
    real_submit, calls = services.submit, []

    def dies_in_the_second_chunk(*args, **kwargs):
        result = real_submit(*args, **kwargs)  # this chunk's messages are written...
        calls.append(result.written)
        if len(calls) == 2:
            raise SystemExit("worker killed")  # ...and the process dies before the commit
        return result

    monkeypatch.setattr(services, "submit", dies_in_the_second_chunk)
    with pytest.raises(SystemExit):
        campaign_enqueue(campaign.pk)
    assert Message.objects.count() == 3  # the first chunk only
    assert progress_of(campaign).processed == 3

    Campaign.objects.filter(pk=campaign.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=10))
    assert start_due_campaigns() == [campaign.pk]  # another worker takes the stalled campaign over
    assert campaign_enqueue(campaign.pk) == 4  # 6 and 7 of the 8 recipients are left for it, minus the skipped one

    messages = {m.to: m for m in Message.objects.select_related("variant")}
    assert len(messages) == Message.objects.count() == 7  # the skipped recipient gets none; nobody gets two
    for recipient in Recipient.objects.filter(campaign=campaign).exclude(phone="+5511911119999"):
        message = messages[recipient.phone]
        n = int(recipient.phone[-4:])
        label = pick_variant(template, recipient.phone).label
        assert message.variant.label == label
        assert message.body == f"{label} Nome{n}/Filho{n} https://gateway.example.com/r/{recipient.link_code}"
    assert messages["+5511911110004"].status == "cancelled"  # opted out: recorded, not dropped
    skipped = Recipient.objects.get(phone="+5511911119999")
    assert "PRENOM_ENFANT" in skipped.error
    campaign.refresh_from_db()
    assert campaign.status == "enqueued"
    progress = progress_of(campaign)
    assert (progress.recipients, progress.processed, progress.skipped) == (8, 8, 1)
