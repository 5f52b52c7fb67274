"""Pausing a campaign holds its messages not yet handed to a worker; resuming sends them and goes on enqueueing."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign
from campaigns.services import (
    campaign_cancel,
    campaign_enqueue,
    campaign_pause,
    campaign_resume,
    campaign_schedule,
    start_due_campaigns,
)
from providers.base import TransientProviderError
from providers.memory import MemoryProvider
from smsgate.models import Message
from smsgate.sending.dispatch import claim_due, deliver
from smsgate.sending.tasks import sweep_due_messages_task
from tests.test_campaigns import audience, make_campaign  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def started(tenant, audience) -> Campaign:  # noqa: F811
    campaign = make_campaign(tenant, audience)
    campaign_schedule(campaign)
    assert start_due_campaigns() == [campaign.pk]  # claimed: no task enqueued in this test
    return campaign


def statuses() -> list[str]:
    return sorted(Message.objects.values_list("status", flat=True))


def test_a_paused_campaign_sends_nothing_until_resumed(tenant, audience, django_capture_on_commit_callbacks):  # noqa: F811
    campaign = started(tenant, audience)
    campaign_enqueue(campaign.pk)
    assert campaign_pause(campaign, by="ops@example.com") == 3

    sweep_due_messages_task()
    assert MemoryProvider.outbox == [] and claim_due(100)[1] == []
    assert statuses() == ["scheduled"] * 3
    assert set(Message.objects.values_list("status_reason", flat=True)) == {"campaign paused by ops@example.com"}
    campaign.refresh_from_db()
    assert (campaign.status, campaign.status_reason) == ("paused", "paused by ops@example.com")

    with django_capture_on_commit_callbacks(execute=True):  # the release wakes the sweeper (eager here)
        assert campaign_resume(campaign) == 3
    assert len(MemoryProvider.outbox) == 3 and statuses() == ["sent"] * 3
    campaign.refresh_from_db()
    assert (campaign.status, campaign.status_reason) == ("enqueued", "")


def test_pausing_mid_enqueue_stops_it_and_resuming_goes_on_where_it_stopped(tenant, audience, monkeypatch,  # noqa: F811
                                                                           django_capture_on_commit_callbacks):
    campaign = started(tenant, audience)
    monkeypatch.setattr(services, "CHUNK", 1)
    real_chunk = services._enqueue_chunk

    def pause_after_the_first_chunk(*args):
        written = real_chunk(*args)
        campaign_pause(campaign, by="ops")  # as from the console, while the enqueuer holds the row: it waits
        return written

    monkeypatch.setattr(services, "_enqueue_chunk", pause_after_the_first_chunk)
    # The pause here runs inside the enqueuer's transaction (same connection), so it sees its chunk.
    assert campaign_enqueue(campaign.pk) == 1
    monkeypatch.setattr(services, "_enqueue_chunk", real_chunk)
    assert statuses() == ["scheduled"]  # the one written is held, the others were never written

    with django_capture_on_commit_callbacks(execute=True):  # publishes the enqueue task: eager in tests
        assert campaign_resume(campaign) == 1
    campaign.refresh_from_db()
    assert campaign.status == "enqueued"
    assert Message.objects.count() == 3 and len({m["to"] for m in MemoryProvider.outbox}) == 3


def test_messages_a_worker_already_claimed_are_not_held(tenant, audience):  # noqa: F811
    campaign = started(tenant, audience)
    campaign_enqueue(campaign.pk)
    _, claimed = claim_due(1)
    assert campaign_pause(campaign, by="ops") == 2
    assert Message.objects.get(pk=claimed[0]).status == "sending"


def test_a_paused_campaign_can_be_cancelled_and_its_held_messages_are_cancelled(tenant, audience):  # noqa: F811
    campaign = started(tenant, audience)
    campaign_enqueue(campaign.pk)
    campaign_pause(campaign, by="ops")
    assert campaign_cancel(campaign) == 3
    assert statuses() == ["cancelled"] * 3
    with pytest.raises(Exception, match="cannot be paused"):
        campaign_pause(campaign, by="ops")


@pytest.mark.parametrize("status", ["draft", "scheduled", "cancelled", "paused"])
def test_only_a_running_or_enqueued_campaign_can_be_paused(tenant, status):
    campaign = Campaign.objects.create(tenant=tenant, name="Kermesse", body="Oi", status=status)
    with pytest.raises(Exception, match="cannot be paused"):
        campaign_pause(campaign, by="ops")


@pytest.mark.parametrize("status", ["draft", "scheduled", "running", "enqueued", "cancelled"])
def test_only_a_paused_campaign_can_be_resumed(tenant, status):
    campaign = Campaign.objects.create(tenant=tenant, name="Kermesse", body="Oi", status=status)
    with pytest.raises(Exception, match="is not paused"):
        campaign_resume(campaign)


def test_the_console_buttons_pause_and_resume(admin_client, tenant, audience,  # noqa: F811
                                              django_capture_on_commit_callbacks):
    campaign = started(tenant, audience)
    campaign_enqueue(campaign.pk)
    page = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    html = admin_client.get(page).content.decode()
    assert 'id="pause-button"' in html and 'id="resume-button"' not in html

    pause = reverse("admin:campaigns_campaign_pause", args=[campaign.pk])
    assert admin_client.get(pause).status_code == 405
    response = admin_client.post(pause, follow=True)
    assert "Kermesse: paused, 3 message(s) held until it is resumed." in [str(m) for m in response.context["messages"]]
    html = response.content.decode()
    assert 'id="resume-button"' in html and 'id="pause-button"' not in html and "paused by admin" in html
    held = Message.objects.first()
    message_page = admin_client.get(reverse("admin:smsgate_message_change", args=[held.pk])).content.decode()
    assert "held until resumed" in message_page and "campaign paused by admin" in message_page

    again = admin_client.post(pause, follow=True)  # a second click, or a stale page
    assert "Kermesse: It cannot be paused: it is paused." in [str(m) for m in again.context["messages"]]

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:campaigns_campaign_resume", args=[campaign.pk]), follow=True)
    assert "Kermesse: resumed, 3 held message(s) going out." in [str(m) for m in response.context["messages"]]
    assert statuses() == ["sent"] * 3


def test_only_staff_with_change_permission_can_pause_or_resume(client, admin_client, tenant):
    campaign = Campaign.objects.create(tenant=tenant, name="Kermesse", body="Oi", status="enqueued")
    viewer = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    for action in ("pause", "resume"):
        url = reverse(f"admin:campaigns_campaign_{action}", args=[campaign.pk])
        assert client.post(url).status_code == 302  # to the login page
        for malformed in ("999999", "abc", "1%00"):
            assert admin_client.post(f"/admin/campaigns/campaign/{malformed}/{action}/").status_code == 404
    client.force_login(viewer)
    assert client.post(reverse("admin:campaigns_campaign_pause", args=[campaign.pk])).status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == "enqueued"


def test_deleting_a_paused_campaign_cancels_its_held_messages(admin_client, tenant, audience):  # noqa: F811
    campaign = started(tenant, audience)
    campaign_enqueue(campaign.pk)
    campaign_pause(campaign, by="ops")
    response = admin_client.post(reverse("admin:campaigns_campaign_delete", args=[campaign.pk]), {"post": "yes"})
    assert response.status_code == 302 and not Campaign.objects.exists()
    assert statuses() == ["cancelled"] * 3  # none left held for ever
    assert set(Message.objects.values_list("status_reason", flat=True)) == {"campaign deleted"}


def test_deleting_campaigns_in_bulk_cancels_what_they_have_not_sent(tenant, audience):  # noqa: F811
    campaign = started(tenant, audience)
    campaign_enqueue(campaign.pk)
    _, claimed = claim_due(1)  # one is with a worker: it still goes
    Campaign.objects.all().delete()
    assert statuses() == ["cancelled", "cancelled", "sending"]
    assert campaign_enqueue(campaign.pk) == 0  # a task for it that was still queued does nothing


def test_a_message_that_comes_back_for_a_retry_while_paused_waits_too(tenant, audience,  # noqa: F811
                                                                      django_capture_on_commit_callbacks):
    campaign = started(tenant, audience)
    campaign_enqueue(campaign.pk)
    token, claimed = claim_due(1)  # a worker holds one when the operator pauses
    campaign_pause(campaign, by="ops")
    MemoryProvider.fail_next(TransientProviderError("carrier 503"))
    deliver(claimed, token)  # it fails, and is queued again for a retry
    retried = Message.objects.get(pk=claimed[0])
    assert retried.status == "queued" and retried.attempts == 1
    Message.objects.filter(pk=retried.pk).update(due_at=timezone.now())  # its backoff is over

    sweep_due_messages_task()
    assert MemoryProvider.outbox == [] and statuses() == ["queued", "scheduled", "scheduled"]

    with django_capture_on_commit_callbacks(execute=True):
        campaign_resume(campaign)
    assert statuses() == ["sent"] * 3 and len(MemoryProvider.outbox) == 3


@pytest.mark.parametrize("action", ["schedule", "pause", "resume", "cancel"])
def test_view_only_staff_cannot_run_the_campaign_actions_from_the_list(client, tenant, action):
    campaign = Campaign.objects.create(tenant=tenant, name="Kermesse", body="Oi", status="enqueued")
    viewer = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    client.force_login(viewer)
    changelist = reverse("admin:campaigns_campaign_changelist")
    assert f'value="{action}"' not in client.get(changelist).content.decode()  # not offered
    client.post(changelist, {"action": action, "_selected_action": [campaign.pk]})
    campaign.refresh_from_db()
    assert campaign.status == "enqueued"


def test_view_only_staff_cannot_revoke_api_keys(client, tenant):
    from smsgate.models import ApiKey

    key, _ = ApiKey.issue(tenant=tenant)
    viewer = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_apikey"))
    client.force_login(viewer)
    client.post(reverse("admin:smsgate_apikey_changelist"), {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is None
