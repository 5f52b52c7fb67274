"""`manage.py balance`: each provider's balance, from the carrier's own API; one line per provider."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from smsgate.models import ProviderAccount
from tests.fakes.smsc import smsc_error

pytestmark = pytest.mark.django_db


def balance(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("balance", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failing_balance(*args) -> tuple[str, str]:
    """Output of a run that could not read some balance: it exits with status 1."""
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("balance", *args, stdout=out, stderr=err)
    assert exited.value.code == 1
    return out.getvalue(), err.getvalue()


def test_it_prints_the_balance_of_each_provider_in_the_chain(smsc, twilio, settings):
    settings.SMS_PRIMARY_PROVIDER = "smsc"
    settings.SMS_FALLBACK_PROVIDERS = ["twilio", "console"]
    out, _ = balance()
    assert out.splitlines() == ["smsc: 84.75 RUB", "twilio: 12.34 USD", "console: not supported"]
    assert smsc.requests[0].path == "/sys/balance.php"


def test_one_provider_and_a_tenant_can_be_named(smsc, tenant):
    ProviderAccount.objects.create(tenant=tenant, provider="smsc",
                                   credentials={"login": smsc.login, "password": smsc.password})
    out, _ = balance("--provider", "smsc", "--tenant", tenant.slug)
    assert out == "smsc: 84.75 RUB\n"


def test_a_tenant_without_its_own_account_is_not_shown_the_platforms(smsc, tenant):
    out, err = failing_balance("--provider", "smsc", "--tenant", tenant.slug)
    assert out == ""
    assert err == "smsc: error: no_account: no smsc account of your own is set up\n"
    assert smsc.requests == []


def test_a_carrier_error_is_one_line_and_the_exit_status_says_so(smsc, settings, caplog):
    settings.SMS_FALLBACK_PROVIDERS = ["console"]
    smsc.fail_next(smsc_error(2))
    out, err = failing_balance()
    assert out == "console: not supported\n"  # the others are still shown
    assert err == "smsc: error: auth_failed: the carrier refused the account's credentials\n"
    assert caplog.records == []  # no log line (the console handler prints them) besides
    smsc.fail_next(smsc_error(2))
    failing_balance("--verbosity", "2")
    assert "SMSC error 2" in caplog.text  # the carrier's own words, for an operator who asks


def test_a_provider_without_credentials_is_one_line_and_no_request(twilio, settings, caplog):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "", ""
    out, err = failing_balance("--provider", "twilio")
    assert out == ""
    assert err == "twilio: error: not_configured: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set\n"
    assert caplog.records == [] and twilio.requests == []


def test_an_unknown_tenant_or_provider_is_an_error(smsc):
    with pytest.raises(CommandError, match="No tenant 'nosuch'"):
        balance("--tenant", "nosuch")
    _, err = failing_balance("--provider", "carrier-pigeon")
    assert err.startswith("carrier-pigeon: error: unknown_provider: unknown provider (known: aircall, ")
    assert len(err.splitlines()) == 1


def test_an_unreachable_sdk_provider_does_not_hide_the_others(twilio, settings):
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    settings.SMS_FALLBACK_PROVIDERS = ["console"]
    out, err = failing_balance()
    assert out == "console: not supported\n"
    assert err == "twilio: error: carrier_unavailable: the carrier did not answer; try again later\n"

