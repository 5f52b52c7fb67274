import pytest
from rest_framework.test import APIClient

from providers.memory import MemoryProvider
from smsgate.celery import app as celery_app
from smsgate.models import ApiKey, Tenant
from tests.fakes import smsc as fake_smsc
from tests.fakes import twilio as fake_twilio


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run in-process unless a test starts a real worker."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _sms_defaults(settings):
    settings.SMS_PRIMARY_PROVIDER = "memory"
    settings.SMS_FALLBACK_PROVIDERS = []
    settings.SMS_SAFEGUARD = False
    settings.PUBLIC_BASE_URL = "https://gateway.example.com"
    MemoryProvider.reset()


@pytest.fixture
def tenant(db):
    tenant, _ = Tenant.objects.get_or_create(slug="acme", defaults={"name": "Acme", "default_region": "BR"})
    return tenant


@pytest.fixture
def other_tenant(db):
    tenant, _ = Tenant.objects.get_or_create(slug="globex", defaults={"name": "Globex", "default_region": "US"})
    return tenant


def client_for(tenant: Tenant) -> APIClient:
    _, raw_key = ApiKey.issue(tenant=tenant, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def api(tenant) -> APIClient:
    return client_for(tenant)


@pytest.fixture
def twilio(settings):
    """A running fake Twilio, with settings pointing the real SDK at it."""
    with fake_twilio.FakeTwilio() as fake:
        settings.TWILIO_ACCOUNT_SID = fake.account_sid
        settings.TWILIO_AUTH_TOKEN = fake.auth_token
        settings.TWILIO_FROM_NUMBER = fake_twilio.FROM_NUMBER
        settings.TWILIO_API_BASE_URL = fake.url
        settings.SMS_PRIMARY_PROVIDER = "twilio"
        yield fake


SMSC_WEBHOOK_SECRET = "smsc-callback-secret"


@pytest.fixture
def smsc(settings):
    """A running fake SMSC.ru, with settings pointing the smsc backend at it."""
    with fake_smsc.FakeSmsc() as fake:
        settings.SMSC_LOGIN = fake.login
        settings.SMSC_PASSWORD = fake.password
        settings.SMSC_SENDER = "smsgate"
        settings.SMSC_BASE_URL = fake.url
        settings.SMSC_WEBHOOK_SECRET = SMSC_WEBHOOK_SECRET
        settings.SMS_PRIMARY_PROVIDER = "smsc"
        yield fake
