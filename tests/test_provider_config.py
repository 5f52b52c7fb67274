"""Configuration mistakes never strand a message (issue 13).

A route to an unknown or unconfigured provider is a permanent error for that
route only: the chain moves on, or the message fails with the reason. It never
stays in `sending`, and never waits through retries for a setting to appear.
"""

import pytest
from django.core.exceptions import ValidationError

from providers.http import HttpProvider
from providers.memory import MemoryProvider
from providers.registry import PROVIDERS, provider_class
from smsgate.models import Message, ProviderAccount, Tenant
from smsgate.sending.tasks import sweep_due_messages_task
from tests.sending import submit_one

pytestmark = pytest.mark.django_db


def send_one(tenant) -> Message:
    message = submit_one(tenant=tenant, to="+5511987654321", body="hello")
    sweep_due_messages_task()
    message.refresh_from_db()
    return message


def set_chain(tenant, primary: str, fallbacks: str = "") -> None:
    """Store the chain as an older row may hold it: the model's validation is not asked."""
    Tenant.objects.filter(pk=tenant.pk).update(primary_provider=primary, fallback_providers=fallbacks)
    tenant.refresh_from_db()


def test_a_misspelt_primary_fails_over_to_the_next_provider(tenant):
    set_chain(tenant, "twillio", "memory")
    message = send_one(tenant)
    assert (message.status, message.provider) == ("sent", "memory")
    assert len(MemoryProvider.outbox) == 1


def test_a_misspelt_only_provider_fails_the_message_with_the_reason(tenant):
    set_chain(tenant, "twillio")
    message = send_one(tenant)
    assert message.status == "failed"
    assert message.error_message == "twillio: unknown provider"
    assert message.attempts == 1 and message.claim_token is None


def test_twilio_without_credentials_is_skipped_without_calling_it(tenant, twilio, settings):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "", ""
    settings.SMS_FALLBACK_PROVIDERS = ["memory"]
    message = send_one(tenant)
    assert (message.status, message.provider) == ("sent", "memory")
    assert twilio.requests == []


def test_twilio_without_credentials_alone_fails_at_once_with_the_reason(tenant, twilio, settings):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "", ""
    message = send_one(tenant)
    assert message.status == "failed"
    assert message.status_reason == "no provider can send it"
    assert message.error_message == "twilio: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set"
    assert twilio.requests == []


def test_every_reason_is_kept_when_no_provider_can_send(tenant, settings):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "", "token"
    set_chain(tenant, "twillio", "twilio")
    message = send_one(tenant)
    assert message.status == "failed"
    assert message.error_message == "twillio: unknown provider; twilio: TWILIO_ACCOUNT_SID is not set"


def test_a_tenant_account_with_a_misspelt_credential_is_skipped(tenant, twilio):
    """Its constructor used to raise TypeError, which left the whole chunk in `sending`."""
    ProviderAccount.objects.create(tenant=tenant, provider="twilio",
                                   credentials={"acount_sid": twilio.account_sid, "auth_token": twilio.auth_token})
    set_chain(tenant, "twilio", "memory")
    message = send_one(tenant)
    assert (message.status, message.provider) == ("sent", "memory")
    set_chain(tenant, "twilio")
    message = send_one(tenant)
    assert message.status == "failed"
    assert message.error_message == "twilio: the account has unknown credentials: acount_sid"
    assert twilio.requests == []


def test_a_route_whose_backend_cannot_be_built_is_skipped(tenant, aircall):
    ProviderAccount.objects.create(tenant=tenant, provider="aircall", credentials={
        "api_id": aircall.api_id, "api_token": aircall.api_token, "number_id": aircall.number_id, "base_url": 5})
    set_chain(tenant, "aircall", "memory")
    message = send_one(tenant)
    assert (message.status, message.provider) == ("sent", "memory")
    set_chain(tenant, "aircall")
    message = send_one(tenant)
    assert message.status == "failed" and message.error_message == "aircall: misconfigured (AttributeError)"


def test_a_tenant_account_is_never_completed_with_the_platforms_credentials(tenant, twilio):
    """A tenant's account without its own account_sid must not send on the platform's account."""
    ProviderAccount.objects.create(tenant=tenant, provider="twilio", credentials={"auth_token": twilio.auth_token})
    message = send_one(tenant)  # the settings' chain: twilio only
    assert message.status == "failed"
    assert message.error_message == "twilio: the account lacks account_sid"
    assert twilio.requests == []


def test_a_crash_while_routing_is_a_failed_try_not_a_stuck_claim(tenant, settings):
    Tenant.objects.filter(pk=tenant.pk).update(quiet_hours="9pm-8am")  # saved before validation existed
    message = send_one(tenant)
    assert message.status == "queued" and message.attempts == 1 and message.claim_token is None
    assert message.error_message == "internal error while routing (ValidationError)"
    settings.SMS_MAX_ATTEMPTS = 2
    Message.objects.filter(pk=message.pk).update(due_at=message.created_at)
    sweep_due_messages_task()
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == 2


def test_the_start_up_check_refuses_an_unknown_provider_in_the_settings(settings):
    from smsgate.checks import default_chain_providers

    settings.SMS_PRIMARY_PROVIDER, settings.SMS_FALLBACK_PROVIDERS = "memory", ["twillio"]
    problems = default_chain_providers(None)
    assert [p.id for p in problems] == ["smsgate.E002"]
    assert "unknown provider 'twillio'" in problems[0].msg


def test_the_start_up_check_warns_of_a_provider_without_credentials(settings):
    from smsgate.checks import default_chain_providers

    settings.SMS_PRIMARY_PROVIDER, settings.SMS_FALLBACK_PROVIDERS = "smsc", ["memory"]
    settings.SMSC_LOGIN, settings.SMSC_PASSWORD = "login", ""
    problems = default_chain_providers(None)
    assert [p.id for p in problems] == ["smsgate.W002"]
    assert problems[0].msg.startswith("smsc: SMSC_PASSWORD is not set")
    settings.SMSC_PASSWORD = "secret"
    assert default_chain_providers(None) == []


def test_a_tenant_refuses_an_unknown_provider(tenant):
    tenant.primary_provider = "twillio"
    tenant.fallback_providers = "memory, smsk"
    with pytest.raises(ValidationError) as refused:
        tenant.full_clean()
    assert set(refused.value.message_dict) == {"primary_provider", "fallback_providers"}
    assert "smsk" in refused.value.message_dict["fallback_providers"][0]
    tenant.primary_provider, tenant.fallback_providers = "twilio", "memory, console"
    tenant.full_clean()


def test_a_provider_account_refuses_an_unknown_provider_or_credentials(tenant):
    with pytest.raises(ValidationError) as refused:
        ProviderAccount(tenant=tenant, provider="twillio", credentials={}).full_clean()
    assert "provider" in refused.value.message_dict
    with pytest.raises(ValidationError, match="twilio: the account lacks auth_token"):
        ProviderAccount(tenant=tenant, provider="twilio", credentials={"account_sid": "AC1"}).full_clean()
    complete = {"account_sid": "AC1", "auth_token": "t"}
    ProviderAccount(tenant=tenant, provider="twilio", credentials=complete).full_clean()


def test_the_choices_migration_runs_no_sql_so_old_rows_with_bad_names_cannot_break_it():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("sqlmigrate", "smsgate", "0007", stdout=out)
    statements = [line for line in out.getvalue().splitlines() if line and not line.startswith("--")]
    assert statements == ["BEGIN;", "COMMIT;"]


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_every_carrier_setting_in_settings_is_read_by_its_carrier(name):
    """A misspelt prefix, key or setting would leave a setting silently ignored and the carrier unconfigured."""
    from smsgate import settings as settings_module

    cls = provider_class(name)
    if not cls.settings_prefix:
        return
    read = {cls.setting_name(key) for key in cls.config_keys()}
    defined = {attribute for attribute in vars(settings_module) if attribute.startswith(cls.settings_prefix)}
    assert defined and defined <= read


class AcmeSms(HttpProvider):
    """A carrier settings.py knows nothing of."""

    name = "acme"
    settings_prefix = "ACME_SMS_"
    required_credentials = ("api_key",)
    optional_settings = {"base_url": "https://api.acme.example"}


def test_a_carrier_without_lines_in_settings_reads_its_environment(settings, monkeypatch, tmp_path):
    monkeypatch.delenv("ACME_SMS_BASE_URL", raising=False)
    monkeypatch.setenv("ACME_SMS_API_KEY", "from-the-environment")
    provider = AcmeSms.from_settings(settings)
    assert (provider.api_key, provider.base_url, provider.timeout) == (
        "from-the-environment", "https://api.acme.example", settings.PROVIDER_HTTP_TIMEOUT)
    secret = tmp_path / "api_key"
    secret.write_text("from-a-docker-secret\n")
    monkeypatch.setenv("ACME_SMS_API_KEY_FILE", str(secret))
    assert AcmeSms.from_settings(settings).api_key == "from-a-docker-secret"
    settings.ACME_SMS_API_KEY = "from-settings"
    assert AcmeSms.from_settings(settings).api_key == "from-settings"
