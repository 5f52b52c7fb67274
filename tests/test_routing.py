"""Routing: tenants' own chains and credentials, breakers, rate limits, quiet hours, opt-outs at send time."""

import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from providers.base import TransientProviderError
from providers.memory import MemoryProvider
from providers.registry import chain_for
from smsgate.consents import record_marketing_consent
from smsgate.fields import DecryptionError
from smsgate.models import Message, MessageEvent, MessageType, OptOut, ProviderAccount
from smsgate.quiet_hours import URGENT_TYPES, parse_window, quiet_until
from smsgate.sending.resilience import RateLimiter, breaker_for
from smsgate.sending.tasks import sweep_due_messages_task
from tests.chaos.harness import wait_until
from tests.sending import submit_one

pytestmark = pytest.mark.django_db


def submit(tenant, **kwargs) -> Message:
    kwargs.setdefault("to", "+5511987654321")
    kwargs.setdefault("body", "hello")
    return submit_one(tenant=tenant, **kwargs)


def sweep_and_reload(message: Message) -> Message:
    sweep_due_messages_task()
    message.refresh_from_db()
    return message


def test_a_tenant_chain_overrides_the_settings_chain(tenant, settings):
    settings.SMS_PRIMARY_PROVIDER = "twilio"
    assert chain_for(tenant) == ["twilio"]
    tenant.primary_provider = "memory"
    tenant.fallback_providers = "console, twilio"
    assert chain_for(tenant) == ["memory", "console", "twilio"]


def test_a_tenant_sends_with_its_own_twilio_account_and_number(tenant, twilio, settings):
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32  # the settings' account is not the fake's
    ProviderAccount.objects.create(tenant=tenant, provider="twilio",
                                   credentials={"account_sid": twilio.account_sid, "auth_token": twilio.auth_token})
    tenant.sender_number = "+15005550006"
    tenant.save()
    message = sweep_and_reload(submit(tenant))
    assert message.status == "sent"
    assert twilio.requests[-1].path.startswith(f"/2010-04-01/Accounts/{twilio.account_sid}/")
    assert twilio.requests[-1].form["From"] == ["+15005550006"]


def test_credentials_are_encrypted_at_rest(tenant):
    account = ProviderAccount.objects.create(tenant=tenant, provider="twilio",
                                             credentials={"auth_token": "very-secret-token"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM smsgate_provideraccount WHERE id = %s", [account.pk])
        stored = cursor.fetchone()[0]
    assert "very-secret-token" not in stored and stored.startswith("gAAAA")  # a Fernet token
    assert ProviderAccount.objects.get(pk=account.pk).credentials == {"auth_token": "very-secret-token"}


def test_keys_rotate_and_a_wrong_key_is_a_clear_error(tenant, settings):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old
    account = ProviderAccount.objects.create(tenant=tenant, provider="smsc", credentials={"password": "p"})
    settings.FIELD_ENCRYPTION_KEY = f"{new},{old}"  # rotation: the new key first, the old still decrypts
    assert ProviderAccount.objects.get(pk=account.pk).credentials == {"password": "p"}
    settings.FIELD_ENCRYPTION_KEY = new
    with pytest.raises(DecryptionError):
        ProviderAccount.objects.get(pk=account.pk)


def test_production_refuses_to_store_credentials_without_a_key(tenant, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.DEBUG, settings.FIELD_ENCRYPTION_KEY = False, ""
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEY"):
        ProviderAccount.objects.create(tenant=tenant, provider="smsc", credentials={"password": "p"})


def test_an_open_breaker_skips_the_provider_and_fails_over(tenant, settings):
    settings.SMS_FALLBACK_PROVIDERS = ["console"]
    settings.SMS_BREAKER_FAILURES = 2
    MemoryProvider.fail_next(TransientProviderError("503"), TransientProviderError("503"))
    for _ in range(2):
        sweep_and_reload(submit(tenant))
    assert breaker_for("memory:default").state() == "open"
    message = sweep_and_reload(submit(tenant))
    assert message.provider == "console"
    assert not message.events.filter(kind="attempt", provider="memory").exists()  # not even tried


def test_a_breaker_opening_mid_batch_stops_the_rest_of_the_batch_going_to_it(tenant, settings):
    settings.SMS_FALLBACK_PROVIDERS = ["console"]
    settings.SMS_BREAKER_FAILURES = 3
    MemoryProvider.fail_next(*[TransientProviderError("503")] * 5)
    messages = [submit(tenant, body=f"hello {n}") for n in range(8)]
    sweep_due_messages_task()  # one chunk, one batch
    assert breaker_for("memory:default").state() == "open"
    tried = Message.objects.filter(pk__in=[m.pk for m in messages], events__kind="attempt",
                                   events__provider="memory")
    assert tried.count() == 3  # the three failures that opened it; the other five never went there
    assert len(MemoryProvider._failures) == 2
    assert set(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("status", "provider")) == {
        ("delivered", "console")}  # the console simulates a receipt


def test_a_half_open_breaker_lets_one_message_of_a_batch_try_first(tenant, settings):
    settings.SMS_FALLBACK_PROVIDERS = ["console"]
    settings.SMS_BREAKER_FAILURES = 1
    settings.SMS_BREAKER_COOLDOWN_SECONDS = 1
    MemoryProvider.fail_next(TransientProviderError("503"))
    sweep_and_reload(submit(tenant))  # opens it for 1 s
    assert wait_until(lambda: breaker_for("memory:default").state() == "half-open", timeout=60)
    # The failed trial opens it again for an hour: however slowly the rest of the batch is routed
    # (even in a later batch), no second trial can come while this test runs.
    settings.SMS_BREAKER_COOLDOWN_SECONDS = 3600
    MemoryProvider.fail_next(TransientProviderError("503 again"))  # the trial fails
    messages = [submit(tenant, body=f"hello {n}") for n in range(3)]
    sweep_due_messages_task()
    attempts = list(MessageEvent.objects.filter(message__in=messages, kind="attempt")
                    .order_by("message_id", "pk").values_list("message_id", "provider", "ok"))
    first, second, third = (m.pk for m in messages)
    assert attempts == [(first, "memory", False), (first, "console", True), (second, "console", True),
                        (third, "console", True)]


def test_permanent_errors_do_not_open_the_breaker(tenant, settings):
    from providers.base import PermanentProviderError

    settings.SMS_BREAKER_FAILURES = 2
    MemoryProvider.fail_next(*[PermanentProviderError("bad number")] * 3)
    for _ in range(3):
        sweep_and_reload(submit(tenant))
    assert breaker_for("memory:default").state() == "closed"


def test_when_every_breaker_is_open_the_message_waits_without_spending_an_attempt(tenant, settings):
    settings.SMS_BREAKER_FAILURES = 1
    settings.SMS_BREAKER_COOLDOWN_SECONDS = cooldown = 3600  # still open at the second sweep, however slow
    MemoryProvider.fail_next(TransientProviderError("503"))
    sweep_and_reload(submit(tenant))
    message = submit(tenant)
    before = timezone.now()
    message = sweep_and_reload(message)
    after = timezone.now()
    assert message.status == "scheduled" and message.attempts == 0
    # It waits a cooldown from when the sweep routed it (between `before` and `after`), not a retry's backoff.
    assert before + timedelta(seconds=cooldown) <= message.due_at <= after + timedelta(seconds=cooldown)


def test_a_rate_limited_tenant_waits_for_a_token_and_nothing_is_lost(tenant, settings):
    settings.SMS_RATE_LIMIT_PER_MINUTE = 2  # a token every 30 s
    messages = [submit(tenant) for _ in range(3)]
    before = timezone.now()
    sweep_due_messages_task()
    after = timezone.now()
    statuses = sorted(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("status", "attempts"))
    refilled = int((after - before).total_seconds() // 30)  # tokens back while the sweep ran: none unless slow
    sent = statuses.count(("sent", 1))
    assert 2 <= sent <= 2 + refilled and statuses.count(("scheduled", 0)) == 3 - sent, statuses
    if sent == 3:
        return  # the sweep took over 30 s: the third message's token came back before it was routed
    waiting = Message.objects.get(status="scheduled")
    # It waits for the next token: 30 s after the bucket emptied (the sweep's first take), less the part
    # of a token that refilled before it asked. The sweep routed it between `before` and `after`.
    token = timedelta(seconds=30)
    assert before + token - (after - before) - timedelta(milliseconds=1) <= waiting.due_at <= after + token


def test_tokens_a_batch_took_but_did_not_use_are_given_back(tenant, settings, monkeypatch):
    settings.SMS_RATE_LIMIT_PER_MINUTE = 4  # a token every 15 s
    kept = []  # tokens each call to the bucket took (granted) or gave back (negative)
    take = RateLimiter._take

    def counted(self, count):
        granted, wait = take(self, count)
        kept.append(granted if count > 0 else count)
        return granted, wait

    monkeypatch.setattr(RateLimiter, "_take", counted)
    started = time.monotonic()
    submit(tenant), submit(tenant), submit(tenant, to="+5511900000001")
    OptOut.objects.create(tenant=tenant, phone="+5511900000001", source="keyword")  # after it was scheduled
    sweep_due_messages_task()  # the batch takes tokens for three; the opted-out one gives its token back
    assert len(MemoryProvider.outbox) == 2 and sum(kept) == 2
    submit(tenant), submit(tenant), submit(tenant)
    sweep_due_messages_task()
    sent = len(MemoryProvider.outbox)
    assert sum(kept) == sent  # every token not given back was a send
    refilled = int((time.monotonic() - started) // 15)  # tokens back since the first sweep: none unless slow
    assert 4 <= sent <= 4 + refilled  # the limit, and no more
    assert Message.objects.filter(status="scheduled").count() == 5 - sent


def test_a_batch_held_up_by_a_slow_carrier_gives_back_its_tokens_before_sending_on(tenant, settings, monkeypatch):
    from smsgate.sending import routing

    settings.SMS_RATE_LIMIT_PER_MINUTE = 4  # the batch below takes all 4; a token comes back every 15 s
    started = time.monotonic()  # the real clock (routing's is the test's)
    clock = [1000.0]
    monkeypatch.setattr(routing, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    released = []
    release = RateLimiter.release
    monkeypatch.setattr(RateLimiter, "release", lambda self, count: released.append(count) or release(self, count))
    messages = [submit(tenant, body=f"hello {n}") for n in range(4)]
    router = routing.Router(timezone.now())
    router.start_batch(4)
    router.route(messages[0], "")  # takes the batch's 4 tokens, uses 1
    clock[0] += routing.TOKEN_HOLD_SECONDS + 1  # the carrier was slow
    router.route(messages[1], "")  # the 3 it held go back first; it takes 3 afresh and uses 1
    router.finish_batch()
    assert released == [3, 2]
    left = RateLimiter(key=f"{tenant.pk}:memory", per_minute=4).acquire(100)[0]
    refilled = (time.monotonic() - started) * 4 / 60  # tokens back while the test ran: none unless slow
    assert 2 <= left <= 2 + refilled  # 2 sent: the other 2 tokens are back in the bucket


def test_an_account_rate_limit_overrides_the_setting(tenant, settings):
    settings.SMS_RATE_LIMIT_PER_MINUTE = 0
    ProviderAccount.objects.create(tenant=tenant, provider="memory", credentials={}, rate_limit_per_minute=1)
    started = time.monotonic()
    submit(tenant), submit(tenant)
    sweep_due_messages_task()
    refilled = int((time.monotonic() - started) // 60)  # a token back if the sweep took a minute
    assert 1 <= len(MemoryProvider.outbox) <= 1 + refilled


def test_an_opt_out_after_scheduling_cancels_at_send_time(tenant):
    message = submit(tenant, send_at=timezone.now() + timedelta(minutes=5))
    OptOut.objects.create(tenant=tenant, phone=message.to, source="keyword")
    Message.objects.filter(pk=message.pk).update(due_at=timezone.now())
    message = sweep_and_reload(message)
    assert (message.status, message.status_reason) == ("cancelled", "recipient opted out")
    assert MemoryProvider.outbox == []


@pytest.mark.parametrize(("window", "local", "quiet"), [
    ("21:00-08:00", "22:30", True), ("21:00-08:00", "07:59", True), ("21:00-08:00", "08:00", False),
    ("21:00-08:00", "12:00", False), ("12:00-14:00", "13:00", True), ("12:00-14:00", "14:00", False),
])
def test_quiet_hours_windows_including_midnight_wrap(window, local, quiet):
    hour, minute = map(int, local.split(":"))
    now = datetime(2026, 6, 10, hour + 3, minute, tzinfo=UTC) if hour + 3 < 24 else None  # São Paulo is UTC-3
    if now is None:
        now = datetime(2026, 6, 11, hour + 3 - 24, minute, tzinfo=UTC)
    until = quiet_until(phone="+5511987654321", message_type="marketing", window_text=window, now=now)
    assert (until is not None) == quiet


def test_a_marketing_message_due_at_night_is_deferred_to_the_morning_at_send_time(tenant, settings):
    """Quiet hours set after a message was scheduled still hold it when it falls due (submit holds the others)."""
    record_marketing_consent(tenant=tenant, phone="+5511987654321", source="lead form")
    night = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)  # 23:00 in São Paulo
    with mock.patch("django.utils.timezone.now", return_value=night - timedelta(hours=12)):
        message = submit(tenant, message_type="marketing", send_at=night)
    settings.SMS_QUIET_HOURS = "21:00-08:00"
    with mock.patch("django.utils.timezone.now", return_value=night):
        message = sweep_and_reload(message)
    assert message.status == "scheduled"
    assert message.due_at == datetime(2026, 6, 10, 11, 0, tzinfo=UTC)  # 08:00 in São Paulo
    assert "quiet hours" in message.events.get(kind="status").error_message
    assert MemoryProvider.outbox == []


def test_codes_and_transactional_messages_ignore_quiet_hours(tenant, settings):
    settings.SMS_QUIET_HOURS = "21:00-08:00"
    night = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)
    with mock.patch("django.utils.timezone.now", return_value=night):
        for kind in ("otp", "transactional"):
            assert sweep_and_reload(submit(tenant, message_type=kind)).status == "sent"


def test_the_urgent_types_are_every_message_type_but_marketing():
    # quiet_hours names them by value (it sits below models); a new message type must be placed on purpose.
    assert URGENT_TYPES == set(MessageType.values) - {MessageType.MARKETING}


def test_a_country_with_several_zones_is_quiet_if_any_zone_is():
    # A US number without a known area: phonenumbers gives several zones. 05:30 UTC is 22:30 in
    # Los Angeles but 01:30 in New York: quiet in both; 13:30 UTC is day everywhere.
    night = datetime(2026, 6, 10, 5, 30, tzinfo=UTC)
    until = quiet_until(phone="+14155550123", message_type="marketing", window_text="21:00-08:00", now=night)
    assert until is not None and until.astimezone(UTC) >= datetime(2026, 6, 10, 15, 0, tzinfo=UTC)
    day = datetime(2026, 6, 10, 18, 30, tzinfo=UTC)
    assert quiet_until(phone="+14155550123", message_type="marketing", window_text="21:00-08:00", now=day) is None


@pytest.mark.parametrize("bad", ["21-08", "25:00-08:00", "21:00-21:00", "9:00-10:00"])
def test_malformed_quiet_hours_are_refused(bad):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        parse_window(bad)


def test_receipts_for_a_tenants_own_twilio_account_are_verified_with_its_token(tenant, twilio, client, settings):
    from tests.fakes.twilio import sign

    settings.TWILIO_AUTH_TOKEN = "the-settings-token"
    ProviderAccount.objects.create(tenant=tenant, provider="twilio",
                                   credentials={"account_sid": twilio.account_sid, "auth_token": twilio.auth_token})
    message = sweep_and_reload(submit(tenant))
    callback = twilio.sent[0]["status_callback"]
    assert callback == f"https://gateway.example.com/api/v1/sms/delivery/twilio?tenant={tenant.slug}"
    params = twilio.callback_params(message.provider_message_id, "delivered")
    path = callback.removeprefix("https://gateway.example.com")

    def post(token):
        return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=sign(callback, params, token)).status_code

    assert post("the-settings-token") == 403
    assert post(twilio.auth_token) == 200
    message.refresh_from_db()
    assert message.status == "delivered"


def test_a_malformed_quiet_hours_setting_fails_the_start_up_checks(settings):
    from smsgate.checks import quiet_hours_setting

    settings.SMS_QUIET_HOURS = "after dinner"
    assert [e.id for e in quiet_hours_setting(None)] == ["smsgate.E001"]
    settings.SMS_QUIET_HOURS = "22:00-07:30"
    assert quiet_hours_setting(None) == []


def test_a_claim_shorter_than_a_slow_send_is_warned_about(settings):
    from smsgate.checks import claim_outlives_a_send

    settings.SMS_CLAIM_STALE_SECONDS, settings.PROVIDER_HTTP_TIMEOUT = 30, 15
    assert [w.id for w in claim_outlives_a_send(None)] == ["smsgate.W001"]
    settings.SMS_CLAIM_STALE_SECONDS = 120
    assert claim_outlives_a_send(None) == []
