"""The campaign console: checks on save, progress, Save and schedule / Cancel buttons, the lock once started."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns.models import Campaign, Contact, Recipient, Tag
from campaigns.selectors import progress_of
from smsgate.models import Message
from tests.campaign_console import form_errors, post_campaign, promo_template, seed_campaign
from tests.dashboard_support import add_message

pytestmark = pytest.mark.django_db

def csv(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("recipients.csv", data, content_type="text/csv")


@pytest.fixture
def parents(tenant):
    tag = Tag.objects.create(tenant=tenant, name="parents")
    Contact.objects.create(tenant=tenant, phone="+5511911110001", name="Ana").tags.add(tag)
    return tag


def test_a_campaign_with_contacts_and_a_body_saves(admin_client, tenant, parents):
    response = post_campaign(admin_client, tenant, tags=[parents.pk])
    assert form_errors(response) == {}
    assert Campaign.objects.get().tags.get() == parents


@pytest.mark.parametrize(("fields", "field", "error"), [
    ({"message_type": "marketting"}, "message_type", "Select a valid choice"),
    ({"body": ""}, "body", "Write a body or choose a template."),
    ({"body": "Oi {name.upper}"}, "body", "Invalid variable"),
    ({"body": "x" * 1601}, "body", "at most 1600 characters"),
    ({"name": "Ker\x00messe"}, "name", "Null characters are not allowed."),
    ({"name": "x" * 201}, "name", "at most 200 characters"),
    ({"body": "Oi {name}: {URL}"}, "target_url", "The text has {URL}: give the address"),
    ({"target_url": "javascript:alert(1)"}, "target_url", "Enter a valid URL."),
    ({"scheduled_at_0": "2026-13-45", "scheduled_at_1": "25:00"}, "scheduled_at", "Enter a valid date"),
    ({"groups": ["1\x00"]}, "groups", "Null characters are not allowed."),
], ids=["misspelt type", "no body nor template", "template syntax", "overlong body", "NUL", "overlong name",
        "{URL} without target", "script URL", "impossible date", "NUL in a group id"])
def test_a_campaign_that_cannot_be_sent_is_a_form_error_and_saves_nothing(admin_client, tenant, parents, fields,
                                                                           field, error):
    response = post_campaign(admin_client, tenant, tags=[parents.pk], **fields)
    assert response.status_code == 200
    assert any(error in message for message in form_errors(response).get(field, [])), form_errors(response)
    assert Campaign.objects.count() == 0


def test_tracked_links_need_a_public_address_on_save(admin_client, tenant, parents, settings):
    settings.PUBLIC_BASE_URL = ""
    response = post_campaign(admin_client, tenant, tags=[parents.pk], body="{URL}", target_url="https://x.example")
    assert "Tracked links need PUBLIC_BASE_URL" in form_errors(response)["target_url"][0]
    assert Campaign.objects.count() == 0


def test_another_tenants_template_tags_and_groups_are_refused(admin_client, tenant, other_tenant, parents):
    theirs = promo_template(other_tenant)
    their_tag = Tag.objects.create(tenant=other_tenant, name="vip")
    response = post_campaign(admin_client, tenant, template=theirs.pk, body="", target_url="https://x.example",
                             tags=[parents.pk, their_tag.pk])
    errors = form_errors(response)
    assert errors["template"] == ["Template promo belongs to another tenant."]
    assert errors["tags"] == ["Of another tenant: vip."]
    assert Campaign.objects.count() == 0


def test_a_campaign_without_recipients_is_refused(admin_client, tenant):
    empty = Tag.objects.create(tenant=tenant, name="nobody")
    response = post_campaign(admin_client, tenant, tags=[empty.pk])
    assert form_errors(response)["__all__"] == [
        "The campaign has no recipients: choose tags or groups with contacts, or upload a CSV."]
    assert Campaign.objects.count() == 0


def test_the_csv_must_have_a_column_for_every_variable_of_every_variant(admin_client, tenant):
    template = promo_template(tenant)  # A and B use {name} and {URL}; {URL} is the tracked link
    response = post_campaign(admin_client, tenant, template=template.pk, body="", target_url="https://x.example",
                             recipients_csv=csv(b"phone,nome\n+5511911110001,Ana\n"))
    assert form_errors(response)["recipients_csv"] == [
        "The CSV has no column for name, which the text uses: every recipient would be skipped."]
    assert Campaign.objects.count() == 0

    response = post_campaign(admin_client, tenant, template=template.pk, body="", target_url="https://x.example",
                             recipients_csv=csv(b"phone,name\n+5511911110001,Ana\n"))
    assert form_errors(response) == {}
    assert Campaign.objects.get().recipients.get().variables == {"name": "Ana"}


def test_a_csv_with_only_its_header_is_refused(admin_client, tenant):
    response = post_campaign(admin_client, tenant, recipients_csv=csv(b"phone,name\r\n"))
    assert form_errors(response)["recipients_csv"] == ["The file has a header line but no rows."]
    assert Campaign.objects.count() == 0


def test_duplicate_csv_rows_are_reported_as_a_warning(admin_client, tenant):
    response = post_campaign(admin_client, tenant, recipients_csv=csv(
        b"phone,name\n+5511911110001,Ana\n+5511911110001,Ana again\n+5511911110002,Bia\n"))
    assert form_errors(response) == {}
    page = admin_client.get(response.url)
    [message] = [m for m in page.context["messages"] if str(m).startswith("CSV:")]
    assert message.level_tag == "warning"
    assert "3 rows, 2 recipients added, 1 duplicate numbers skipped" in str(message)


def test_progress_counts_and_rates(tenant):
    progress = progress_of(seed_campaign(tenant))
    assert (progress.recipients, progress.processed, progress.skipped, progress.messages) == (10, 10, 1, 9)
    assert (progress.sent, progress.delivered, progress.failed, progress.cancelled, progress.clicked) == (7, 5, 2, 1, 3)
    rates = (progress.sent_rate, progress.delivered_rate, progress.failed_rate, progress.clicked_rate)
    assert rates == (70, 71, 22, 43)  # of recipients; of sent; of messages written; of sent
    assert progress.bar() == [("delivered", 50.0), ("sent", 10.0), ("failed", 20.0), ("not sent", 20.0)]


def test_the_list_shows_each_campaigns_progress_in_a_fixed_number_of_queries(admin_client, tenant,
                                                                            django_assert_max_num_queries):
    seed_campaign(tenant)
    url = reverse("admin:campaigns_campaign_changelist")
    with django_assert_max_num_queries(12) as one:
        page = admin_client.get(url).content.decode()
    for counts in ("10 recipients", "sent 7 (70%)", "delivered 5 (71%)", "failed 2 (22%)", "clicked 3 (43%)"):
        assert counts in page
    assert 'class="part-delivered" title="delivered" style="width:50.0%' in page
    for n in range(5):
        seed_campaign(tenant, name=f"More {n}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert admin_client.get(url).content.decode().count('class="campaign-progress"') == 6


def test_the_page_shows_progress_and_results_per_variant(admin_client, tenant):
    campaign = seed_campaign(tenant)
    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert "sent 7 (70%)" in page and "10 recipients, 10 processed, 1 skipped" in page
    rows = re.findall(r"<tr><td>(\w)</td>((?:<td>\d+</td>)+)</tr>", page)
    assert {label: re.findall(r"\d+", cells) for label, cells in rows} == {
        "A": ["5", "4", "3", "1", "2"], "B": ["4", "3", "2", "1", "1"]}  # messages sent delivered failed clicked


def test_a_campaign_whose_audience_emptied_since_it_was_saved_is_not_scheduled(admin_client, tenant, parents):
    post_campaign(admin_client, tenant, tags=[parents.pk])
    Contact.objects.all().delete()
    campaign = Campaign.objects.get()
    response = admin_client.post(reverse("admin:campaigns_campaign_changelist"),
                                 {"action": "schedule", "_selected_action": [campaign.pk]}, follow=True)
    assert [str(m) for m in response.context["messages"]][-1] == (
        "Kermesse: The campaign has no recipients: choose tags or groups with contacts, or upload a CSV.")
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_save_and_schedule_saves_then_schedules(admin_client, tenant, parents):
    response = post_campaign(admin_client, tenant, tags=[parents.pk], _schedule="Save and schedule")
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.status == "scheduled" and campaign.recipients.get().phone == "+5511911110001"


def test_a_started_campaign_is_read_only(admin_client, tenant):
    campaign = seed_campaign(tenant)
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="name"' not in html and 'name="_save"' not in html
    assert 'id="locked-note"' in html and 'id="cancel-button"' in html and 'id="schedule-button"' not in html
    assert post_campaign(admin_client, tenant, campaign, name="Edited", body="Other").status_code == 403
    campaign.refresh_from_db()
    assert campaign.name == "Spring promo"


def test_the_cancel_button_cancels_pending_messages(admin_client, tenant, parents):
    post_campaign(admin_client, tenant, tags=[parents.pk], _schedule="Save and schedule")
    campaign = Campaign.objects.get()
    add_message(tenant, "queued", source_type="campaign", source_id=str(campaign.pk))
    url = reverse("admin:campaigns_campaign_cancel", args=[campaign.pk])
    assert admin_client.get(url).status_code == 405
    response = admin_client.post(url, follow=True)
    assert "Kermesse: cancelled, 1 pending message(s) stopped." in [str(m) for m in response.context["messages"]]
    campaign.refresh_from_db()
    assert campaign.status == "cancelled" and Message.objects.get().status == "cancelled"
    assert 'id="cancel-button"' not in response.content.decode()


def test_only_staff_with_change_permission_can_cancel(client, admin_client, tenant, parents):
    campaign = Campaign.objects.create(tenant=tenant, name="Kermesse", body="Oi", status="scheduled")
    url = reverse("admin:campaigns_campaign_cancel", args=[campaign.pk])
    assert client.post(url).status_code == 302  # to the login page
    viewer = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    client.force_login(viewer)
    assert client.post(url).status_code == 403
    for malformed in ("999999", "abc", "1%00"):
        assert admin_client.post(f"/admin/campaigns/campaign/{malformed}/cancel/").status_code == 404
    campaign.refresh_from_db()
    assert campaign.status == "scheduled" and Recipient.objects.count() == 0
