"""The message log in the admin: what an operator sees, and what it may do (Retry now, Resend, Cancel, nothing else)."""

from datetime import timedelta
from html import escape
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from smsgate.models import Message, MessageEvent, OptOut, ProviderAccount, Tenant
from smsgate.sending.submit import ActionRefused, retry_message
from tests.messages_log_support import seed_log
from tests.sending import submit_one

pytestmark = pytest.mark.django_db
LIST = reverse("admin:smsgate_message_changelist")


class _Cells(HTMLParser):
    """The changelist's rows as {message id: {column: text}} (cells are classed field-<column>)."""

    def __init__(self):
        super().__init__()
        self.rows, self._row, self._column = {}, None, None

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "tr":
            self._row = {}
        elif tag in ("td", "th") and self._row is not None:
            self._column = next((c[6:] for c in classes if c.startswith("field-")), None)
            if self._column:
                self._row[self._column] = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._column = None
        elif tag == "tr" and self._row and "id" in self._row:
            self.rows[int(self._row["id"])] = {k: " ".join(v.split()) for k, v in self._row.items()}
            self._row = None

    def handle_data(self, data):
        if self._row is not None and self._column:
            self._row[self._column] += data


def rows(response) -> dict[int, dict[str, str]]:
    assert response.status_code == 200
    parser = _Cells()
    parser.feed(response.content.decode())
    return parser.rows


def page_url(message: Message) -> str:
    return reverse("admin:smsgate_message_change", args=[message.pk])


def act(client, message: Message, action: str, django_capture_on_commit_callbacks):
    """Press an action button on the message's page (dispatch runs as after a real commit); the page it lands on."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse(f"admin:smsgate_message_{action}", args=[message.pk]), follow=True)
    assert response.redirect_chain == [(page_url(message), 302)]
    return response


def notices(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def log(tenant, twilio, settings):
    return seed_log(tenant, twilio, settings)


def test_the_list_shows_why_a_message_failed_and_when_it_is_tried_again(admin_client, log):
    # Its backoff was under a minute; pushed to two hours so the text does not depend on how fast the test runs.
    Message.objects.filter(pk=log["retrying"].pk).update(due_at=timezone.now() + timedelta(hours=2))
    response = admin_client.get(LIST)
    table = rows(response)
    invalid = table[log["invalid"].pk]
    assert invalid["status_badge"] == "Failed"
    assert invalid["problem"] == "21211 Unable to create record: The 'To' number …"  # the whole of it on hover:
    assert escape("21211 Unable to create record: The 'To' number +15005550001 is not a valid phone number.") in \
        response.content.decode()
    assert (invalid["carrier"], invalid["attempts_used"], invalid["next_try"]) == ("twilio", "1/3", "-")
    exhausted = table[log["exhausted"].pk]
    assert (exhausted["status_badge"], exhausted["attempts_used"], exhausted["carrier"]) == ("Failed", "3/3", "twilio")
    assert exhausted["problem"].startswith("20503 ")
    retrying = table[log["retrying"].pk]
    assert (retrying["status_badge"], retrying["attempts_used"], retrying["carrier"]) == ("Retrying", "1/3", "twilio")
    assert retrying["next_try"] == "in 1 hour" and retrying["problem"].startswith("20503 ")
    assert table[log["delivered"].pk]["status_badge"] == "Delivered"
    assert table[log["scheduled"].pk]["status_badge"] == "Scheduled"
    assert (table[log["scheduled"].pk]["carrier"], table[log["scheduled"].pk]["attempts_used"]) == ("-", "0/3")
    assert table[log["cancelled"].pk]["problem"] == "cancelled by ops"
    assert not any("(0)" in row["status_badge"] or "(4)" in row["status_badge"] for row in table.values())


def test_the_last_hours_failures_are_one_filter_away(admin_client, log):
    Message.objects.filter(pk=log["invalid"].pk).update(created_at=log["invalid"].created_at.replace(year=2025))
    table = rows(admin_client.get(LIST, {"since": "1h", "status__exact": "failed"}))
    assert set(table) == {log["opted_out"].pk, log["exhausted"].pk}


def test_the_carrier_filter_finds_failures_by_the_carrier_last_tried(admin_client, log):
    # An attempt at smsc after twilio's: the message's carrier is now smsc, though no carrier ever took it.
    MessageEvent.objects.create(message=log["exhausted"], kind="attempt", provider="smsc", ok=False,
                                error_code="ERR", error_message="smsc is down")
    failed_at_twilio = rows(admin_client.get(LIST, {"carrier": "twilio", "status__exact": "failed"}))
    assert set(failed_at_twilio) == {log["invalid"].pk, log["opted_out"].pk}
    failed_at_smsc = rows(admin_client.get(LIST, {"carrier": "smsc", "status__exact": "failed"}))
    assert set(failed_at_smsc) == {log["exhausted"].pk}
    assert failed_at_smsc[log["exhausted"].pk]["carrier"] == "smsc"


def test_a_message_page_starts_with_its_summary_and_timeline(admin_client, log):
    page = admin_client.get(page_url(log["exhausted"])).content.decode()
    summary, timeline, internals = (page.index('id="message-summary"'), page.index('id="message-timeline"'),
                                    page.index("claim_token"))
    assert summary < timeline < internals
    assert '<details' in page[timeline:internals + 2000]  # the stored fields are folded away
    assert page.count('class="event-attempt"') == 3
    assert page[timeline:internals].count("20503") == 3
    assert "every provider failed 3 times" in page[summary:timeline]
    assert "+14155550126" in page[summary:timeline] and ">twilio<" in page[summary:timeline]


def test_the_log_cannot_be_edited_added_to_or_deleted_from(admin_client, log):
    message = log["delivered"]
    page = admin_client.get(page_url(message)).content.decode()
    assert 'name="_save"' not in page and 'name="_continue"' not in page and "deletelink" not in page
    assert admin_client.post(page_url(message), {"body": "changed", "status": "failed"}).status_code == 403
    delete = reverse("admin:smsgate_message_delete", args=[message.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:smsgate_message_add")).status_code == 403
    response = admin_client.post(LIST, {"action": "delete_selected", "_selected_action": [message.pk], "post": "yes"})
    assert b"delete_selected" not in admin_client.get(LIST).content
    assert response.status_code in (200, 302)
    message.refresh_from_db()
    assert (message.body, message.status) == ("Your order #1042 has shipped", "delivered")


def test_retry_now_sends_a_failed_message_again_with_a_fresh_budget(admin_client, log, twilio,
                                                                     django_capture_on_commit_callbacks):
    message = log["exhausted"]
    response = act(admin_client, message, "retry", django_capture_on_commit_callbacks)
    assert notices(response) == ["Retried 1 message(s)."]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error_code) == ("sent", 1, "")
    assert twilio.sent[-1]["to"] == "+14155550126"
    kinds = list(message.events.values_list("kind", "ok"))
    assert kinds == [("attempt", False)] * 3 + [("status", True), ("attempt", True)]
    assert "retry requested by admin (was failed, 3 attempt(s))" in response.content.decode()


def test_retry_now_hurries_a_message_waiting_for_its_next_try(admin_client, log, django_capture_on_commit_callbacks):
    message = log["retrying"]
    act(admin_client, message, "retry", django_capture_on_commit_callbacks)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)


@pytest.mark.parametrize(("case", "refusal"), [
    ("delivered", "is delivered: the carrier already took it; use Resend to send it again"),
    ("cancelled", "was cancelled; use Resend to send it again"),
    ("opted_out", "to +15005550004 cannot be sent: recipient opted out"),
])
def test_retry_now_is_refused_where_it_cannot_apply(admin_client, log, twilio, case, refusal,
                                                    django_capture_on_commit_callbacks):
    message, sends = log[case], len(twilio.sent)
    response = act(admin_client, message, "retry", django_capture_on_commit_callbacks)
    assert notices(response) == [f"Not done: message #{message.pk} {refusal}."]
    before = message.status
    message.refresh_from_db()
    assert message.status == before and len(twilio.sent) == sends


def test_resend_is_a_new_message_linked_to_the_old_one(admin_client, log, twilio, django_capture_on_commit_callbacks):
    old = log["invalid"]
    Message.objects.filter(pk=old.pk).update(to="+14155550130")  # the number has been corrected meanwhile
    old.refresh_from_db()
    response = act(admin_client, old, "resend", django_capture_on_commit_callbacks)
    copy = Message.objects.get(source_type="resend", source_id=str(old.pk))
    assert notices(response) == ["Resent 1 message(s)."]
    assert (copy.tenant, copy.to, copy.body, copy.status) == (old.tenant, old.to, old.body, "sent")
    assert twilio.sent[-1]["to"] == "+14155550130"
    old.refresh_from_db()
    assert (old.status, old.error_code) == ("failed", "21211")
    assert f'href="{page_url(copy)}">#{copy.pk}</a>' in response.content.decode()
    assert f'href="{page_url(old)}">#{old.pk}</a>' in admin_client.get(page_url(copy)).content.decode()


def test_resend_to_an_opted_out_number_is_refused(admin_client, log, django_capture_on_commit_callbacks):
    old = log["opted_out"]
    assert OptOut.objects.filter(phone=old.to).exists()  # Twilio's 21610 added it
    count = Message.objects.count()
    response = act(admin_client, old, "resend", django_capture_on_commit_callbacks)
    assert notices(response) == [f"Not done: message #{old.pk} to +15005550004 cannot be sent: recipient opted out."]
    assert Message.objects.count() == count


def test_resend_of_a_waiting_message_points_to_retry_now(admin_client, log, django_capture_on_commit_callbacks):
    count = Message.objects.count()
    response = act(admin_client, log["scheduled"], "resend", django_capture_on_commit_callbacks)
    assert notices(response) == [f"Not done: message #{log['scheduled'].pk} is still scheduled; "
                                 "use Retry now to send it now."]
    assert Message.objects.count() == count


def test_cancel_stops_a_scheduled_message_but_not_a_sent_one(admin_client, log, django_capture_on_commit_callbacks):
    scheduled, sent = log["scheduled"], log["sent"]
    assert notices(act(admin_client, scheduled, "cancel", django_capture_on_commit_callbacks)) == [
        "Cancelled 1 message(s)."]
    response = act(admin_client, sent, "cancel", django_capture_on_commit_callbacks)
    assert notices(response) == [f"Not done: message #{sent.pk} is sent: only a message not sent yet can be cancelled."]
    scheduled.refresh_from_db()
    sent.refresh_from_db()
    assert (scheduled.status, scheduled.status_reason, sent.status) == ("cancelled", "cancelled by admin", "sent")


def test_the_list_actions_act_on_each_selected_message(admin_client, log, twilio, django_capture_on_commit_callbacks):
    chosen = [log["exhausted"].pk, log["delivered"].pk, log["invalid"].pk]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(LIST, {"action": "retry_now", "_selected_action": chosen}, follow=True)
    assert notices(response)[0] == "Retried 2 message(s)."
    assert notices(response)[1].startswith(f"Not done: message #{log['delivered'].pk} is delivered")
    assert Message.objects.get(pk=log["exhausted"].pk).status == "sent"
    assert Message.objects.get(pk=log["invalid"].pk).status == "failed"  # 21211 again: the number is still invalid


def test_staff_who_may_only_view_messages_get_no_actions(client, log):
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_message"))
    client.force_login(viewer)
    page = client.get(page_url(log["exhausted"])).content.decode()
    assert 'id="message-summary"' in page and 'id="retry-now"' not in page
    assert client.post(reverse("admin:smsgate_message_retry", args=[log["exhausted"].pk])).status_code == 403
    assert b"retry_now" not in client.get(LIST).content
    assert Message.objects.get(pk=log["exhausted"].pk).status == "failed"


def test_a_number_written_the_national_way_finds_its_messages(admin_client, tenant):
    uk = Tenant.objects.create(slug="uk-shop", name="UK shop", default_region="GB")
    mine = submit_one(tenant=uk, to="+447911123422", body="Your parcel arrives today")
    submit_one(tenant=uk, to="+447911123499", body="Another customer")
    assert set(rows(admin_client.get(LIST, {"q": "07911123422"}))) == {mine.pk}
    assert set(rows(admin_client.get(LIST, {"q": "07911 123 422"}))) == {mine.pk}
    assert set(rows(admin_client.get(LIST, {"q": "+447911123422"}))) == {mine.pk}
    # Read in Brazil (the acme tenant's region) the same digits are another number, not this one.
    brazilian = submit_one(tenant=tenant, to="+5511987654321", body="Oi")
    assert set(rows(admin_client.get(LIST, {"q": "11987654321"}))) == {brazilian.pk}


def test_testing_a_tenants_accounts_shows_one_line_per_carrier(admin_client, tenant, twilio, smsc, settings):
    settings.SMS_PRIMARY_PROVIDER, settings.SMS_FALLBACK_PROVIDERS = "twilio", ["smsc", "console"]
    ProviderAccount.objects.create(tenant=tenant, provider="twilio",
                                   credentials={"account_sid": twilio.account_sid, "auth_token": twilio.auth_token})
    ProviderAccount.objects.create(tenant=tenant, provider="smsc", credentials={"login": smsc.login,
                                                                                 "password": "wrong"})
    tenant_page = reverse("admin:smsgate_tenant_change", args=[tenant.pk])
    assert 'id="test-accounts"' in admin_client.get(tenant_page).content.decode()
    response = admin_client.get(reverse("admin:smsgate_tenant_test_accounts", args=[tenant.pk]), follow=True)
    assert response.redirect_chain == [(tenant_page, 302)]
    assert notices(response) == [
        "acme / twilio: OK, the carrier accepted the credentials; balance 12.34 USD",
        "acme / smsc: FAILED, auth_failed: the carrier refused the account's credentials",
        "acme / console: cannot be tested here (console has no balance to read)",
    ]
    assert "wrong" not in response.content.decode()


def test_the_tenant_list_tests_the_selected_tenants(admin_client, tenant, other_tenant, twilio, settings):
    settings.SMS_PRIMARY_PROVIDER = "twilio"
    response = admin_client.post(reverse("admin:smsgate_tenant_changelist"),
                                 {"action": "test_accounts", "_selected_action": [tenant.pk, other_tenant.pk]},
                                 follow=True)
    assert notices(response) == [
        "acme / twilio: FAILED, no_account: no twilio account of your own is set up",
        "globex / twilio: FAILED, no_account: no twilio account of your own is set up",
    ]
    assert twilio.requests == []


def test_a_retry_on_a_stale_copy_changes_nothing(log):
    """Two operators press Retry now on the same failed message: the second is told, and nothing is sent twice."""
    first, second = Message.objects.get(pk=log["exhausted"].pk), Message.objects.get(pk=log["exhausted"].pk)
    retry_message(first, by="ops-1")
    with pytest.raises(ActionRefused, match="changed meanwhile"):
        retry_message(second, by="ops-2")
    assert list(first.events.filter(kind="status").values_list("error_message", flat=True)) == [
        "retry requested by ops-1 (was failed, 3 attempt(s))"]
