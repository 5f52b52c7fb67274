import pytest
from cryptography.fernet import Fernet
from rest_framework.test import APIClient

from providers.memory import MemoryProvider
from smsgate.celery import app as celery_app
from smsgate.models import ApiKey, Tenant
from smsgate.sending.resilience import PREFIX, redis_client
from tests.fakes import aircall as fake_aircall
from tests.fakes import chunghwa as fake_chunghwa
from tests.fakes import smsc as fake_smsc
from tests.fakes import spothit as fake_spothit
from tests.fakes import twilio as fake_twilio
from tests.fakes import websms as fake_websms

TEST_FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run in-process unless a test starts a real worker."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _fresh_resilience_state():
    """Circuit breakers and rate limits live in Redis: start every test with none."""
    client = redis_client()
    if client is not None:
        for key in client.scan_iter(f"{PREFIX}*"):  # breakers, rate limits, API throttles
            client.delete(key)


@pytest.fixture(autouse=True)
def _sms_defaults(settings):
    settings.SMS_PRIMARY_PROVIDER = "memory"
    settings.SMS_FALLBACK_PROVIDERS = []
    settings.SMS_SAFEGUARD = False
    settings.PUBLIC_BASE_URL = "https://gateway.example.com"
    settings.FIELD_ENCRYPTION_KEY = TEST_FIELD_ENCRYPTION_KEY
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

def point_at(settings, provider: str, **values) -> None:
    """Settings for `provider` (its credentials and base URL), and make it the primary provider."""
    for name, value in values.items():
        setattr(settings, name, value)
    settings.SMS_PRIMARY_PROVIDER = provider


@pytest.fixture
def websms(settings):
    """A running fake WebSMS.by, with settings pointing the backend at it."""
    with fake_websms.FakeWebSms() as fake:
        point_at(settings, "websms", WEBSMS_USER=fake.user, WEBSMS_APIKEY=fake.apikey, WEBSMS_SENDER="Enterprise",
                 WEBSMS_BASE_URL=fake.url)
        yield fake


@pytest.fixture
def spothit(settings):
    """A running fake SpotHit; receipts go to our delivery URL with SPOTHIT_WEBHOOK_SECRET."""
    with fake_spothit.FakeSpotHit() as fake:
        point_at(settings, "spothit", SPOTHIT_API_KEY=fake.api_key, SPOTHIT_SENDER="Programme",
                 SPOTHIT_WEBHOOK_SECRET="spothit-receipt-secret", SPOTHIT_BASE_URL=fake.url)
        yield fake


@pytest.fixture
def aircall(settings):
    """A running fake Aircall; AIRCALL_WEBHOOK_TOKEN is its webhook's token."""
    with fake_aircall.FakeAircall() as fake:
        point_at(settings, "aircall", AIRCALL_API_ID=fake.api_id, AIRCALL_API_TOKEN=fake.api_token,
                 AIRCALL_NUMBER_ID=fake.number_id, AIRCALL_WEBHOOK_TOKEN=fake.webhook_token,
                 AIRCALL_BASE_URL=fake.url)
        yield fake


@pytest.fixture
def chunghwa(settings):
    """A running fake Chunghwa emome IMSP."""
    with fake_chunghwa.FakeChunghwa() as fake:
        point_at(settings, "chunghwa", CHT_SMS_ACCOUNT_ID=fake.account, CHT_SMS_PASSWORD=fake.password,
                 CHT_SMS_FROM_ADDR="0911000111", CHT_SMS_BASE_URL=fake.url)
        yield fake
