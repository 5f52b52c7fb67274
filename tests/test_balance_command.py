"""`manage.py balance`: each provider's balance, from the carrier's own API."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.fakes.smsc import smsc_error

pytestmark = pytest.mark.django_db


def balance(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("balance", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_the_balance_of_each_provider_in_the_chain(smsc, twilio, settings):
    settings.SMS_PRIMARY_PROVIDER = "smsc"
    settings.SMS_FALLBACK_PROVIDERS = ["twilio", "console"]
    out, _ = balance()
    assert out.splitlines() == ["smsc: 84.75 RUB", "twilio: 12.34 USD", "console: not supported"]
    assert smsc.requests[0].path == "/sys/balance.php"


def test_one_provider_and_a_tenant_can_be_named(smsc, tenant):
    out, _ = balance("--provider", "smsc", "--tenant", tenant.slug)
    assert out == "smsc: 84.75 RUB\n"


def test_a_carrier_error_is_reported_and_the_exit_status_says_so(smsc, settings):
    settings.SMS_FALLBACK_PROVIDERS = ["console"]
    smsc.fail_next(smsc_error(2))
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="Could not get the balance of: smsc"):
        call_command("balance", stdout=out, stderr=err)
    assert out.getvalue() == "console: not supported\n"  # the others are still shown
    assert err.getvalue() == "smsc: error: SMSC error 2: authorise error\n"


def test_an_unknown_tenant_or_provider_is_an_error(smsc):
    with pytest.raises(CommandError, match="No tenant 'nosuch'"):
        balance("--tenant", "nosuch")
    with pytest.raises(CommandError, match="No SMS provider named 'carrier-pigeon'"):
        balance("--provider", "carrier-pigeon")


def test_an_unreachable_sdk_provider_does_not_hide_the_others(twilio, settings):
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    settings.SMS_FALLBACK_PROVIDERS = ["console"]
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="twilio"):
        call_command("balance", stdout=out, stderr=err)
    assert out.getvalue() == "console: not supported\n"
    assert err.getvalue().startswith("twilio: error: ")
