"""POST /api/v1/leads and GET /api/v1/leads/{id}: the welcome SMS, consent, auth, bad input."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from leads.models import Lead
from leads.services import lead_create, lead_process_new
from leads.tasks import process_new_lead_task, welcome_lost_leads_task
from providers.memory import MemoryProvider
from smsgate.models import Message, OptOut
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
URL = "/api/v1/leads"
VALID = {"name": "Ivan Petrov", "phone": "+79991234567", "channel": "sms",
         "consent": {"gdpr": True, "marketing": False}}


def create(api, capture, payload=VALID, **headers):
    with capture(execute=True):
        return api.post(URL, payload, format="json", **headers)


def test_an_sms_lead_is_created_and_welcomed(api, tenant, django_capture_on_commit_callbacks):
    response = create(api, django_capture_on_commit_callbacks, HTTP_USER_AGENT="LandingForm/1.0")
    assert response.status_code == 201, response.content
    assert response.data["next_action"] == "send_sms"
    lead = response.data["lead"]
    assert (lead["name"], lead["phone"], lead["channel"], lead["tenant_id"]) == (
        "Ivan Petrov", "+79991234567", "sms", tenant.pk)
    assert lead["status"] == "new"  # the welcome goes out after the response (a task after commit)
    assert lead["consent"]["gdpr"] is True and lead["consent"]["marketing"] is False
    assert (lead["consent"]["ip"], lead["consent"]["user_agent"]) == ("127.0.0.1", "LandingForm/1.0")
    assert lead["consent"]["at"]
    [sms] = MemoryProvider.outbox
    assert sms["to"] == "+79991234567"
    assert sms["body"] == "Hi Ivan Petrov, thank you for your request! We will contact you shortly."
    lead = api.get(f"{URL}/{lead['id']}").data
    assert lead["status"] == "contacted" and lead["contacted_at"]
    [message] = lead["messages"]
    assert (message["message_type"], message["status"]) == ("transactional", "sent")
    assert Message.objects.get(pk=message["id"]).source_type == "lead"


def test_the_persons_own_ip_and_browser_are_recorded_when_the_form_sends_them(api,
                                                                              django_capture_on_commit_callbacks):
    payload = {**VALID, "consent": {"gdpr": True, "marketing": True, "ip": "203.0.113.7",
                                    "user_agent": "Mozilla/5.0 (iPhone)"}}
    response = create(api, django_capture_on_commit_callbacks, payload)
    lead = Lead.objects.get(pk=response.data["lead"]["id"])
    assert (lead.consent_ip, lead.consent_user_agent, lead.consent_marketing) == (
        "203.0.113.7", "Mozilla/5.0 (iPhone)", True)


def test_a_local_number_is_read_in_the_tenants_region(api, django_capture_on_commit_callbacks):
    response = create(api, django_capture_on_commit_callbacks, {**VALID, "phone": "(11) 98765-4321"})
    assert response.data["lead"]["phone"] == "+5511987654321"


@pytest.mark.parametrize(("channel", "next_action"), [("whatsapp", "send_whatsapp"), ("call", "call")])
def test_other_channels_are_stored_without_an_sms(api, channel, next_action, django_capture_on_commit_callbacks):
    response = create(api, django_capture_on_commit_callbacks, {**VALID, "channel": channel})
    assert response.status_code == 201
    assert response.data["next_action"] == next_action
    assert response.data["lead"]["status"] == "new"
    assert MemoryProvider.outbox == [] and Message.objects.count() == 0


def test_get_shows_the_lead_and_its_sms(api, django_capture_on_commit_callbacks):
    lead_id = create(api, django_capture_on_commit_callbacks).data["lead"]["id"]
    response = api.get(f"{URL}/{lead_id}")
    assert response.status_code == 200
    assert response.data["id"] == lead_id and response.data["status"] == "contacted"
    assert [m["status"] for m in response.data["messages"]] == ["sent"]


def test_another_tenants_lead_is_404(api, other_tenant, django_capture_on_commit_callbacks):
    lead_id = create(api, django_capture_on_commit_callbacks).data["lead"]["id"]
    assert client_for(other_tenant).get(f"{URL}/{lead_id}").status_code == 404
    assert api.get(f"{URL}/999999").status_code == 404


def test_without_a_key_it_is_401(db, django_capture_on_commit_callbacks):
    assert create(APIClient(), django_capture_on_commit_callbacks).status_code == 401
    assert APIClient().get(f"{URL}/1").status_code == 401
    assert Lead.objects.count() == 0


def test_a_tenant_header_for_another_tenant_is_403(api, tenant, other_tenant, django_capture_on_commit_callbacks):
    response = create(api, django_capture_on_commit_callbacks, HTTP_X_TENANT_ID=other_tenant.slug)
    assert response.status_code == 403
    assert Lead.objects.count() == 0
    assert create(api, django_capture_on_commit_callbacks, HTTP_X_TENANT_ID=str(tenant.pk)).status_code == 201


def without(key):
    return {k: v for k, v in VALID.items() if k != key}


@pytest.mark.parametrize(("payload", "path"), [
    ({**VALID, "phone": "12"}, ["phone"]),
    ({**VALID, "phone": "call me maybe"}, ["phone"]),
    ({**VALID, "phone": "+7999123456789"}, ["phone"]),
    (without("phone"), ["phone"]),
    (without("name"), ["name"]),
    ({**VALID, "name": "  "}, ["name"]),
    ({**VALID, "channel": "pigeon"}, ["channel"]),
    ({**VALID, "channel": "email"}, ["email"]),
    ({**VALID, "email": "not-an-email"}, ["email"]),
    (without("consent"), ["consent"]),
    ({**VALID, "consent": {"marketing": True}}, ["consent", "gdpr"]),
    ({**VALID, "consent": {"gdpr": False, "marketing": True}}, ["consent", "gdpr"]),
    ({**VALID, "consent": {"gdpr": True, "ip": "not an ip"}}, ["consent", "ip"]),
    ({**VALID, "consent": "yes"}, ["consent"]),
])
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(api, payload, path,
                                                                django_capture_on_commit_callbacks):
    response = create(api, django_capture_on_commit_callbacks, payload)
    assert response.status_code == 400, response.content
    errors = response.data
    for key in path:
        errors = errors[key]
    assert errors
    assert Lead.objects.count() == 0 and Message.objects.count() == 0


def test_every_bad_field_is_named_at_once(api, django_capture_on_commit_callbacks):
    response = create(api, django_capture_on_commit_callbacks, {"phone": "123", "consent": {"gdpr": False}})
    assert response.status_code == 400
    assert set(response.data) == {"name", "phone", "consent"}


def test_gdpr_false_says_why(api, django_capture_on_commit_callbacks):
    response = create(api, django_capture_on_commit_callbacks, {**VALID, "consent": {"gdpr": False}})
    assert response.data["consent"]["gdpr"] == ["GDPR consent is required to store a lead."]


def test_a_welcome_to_an_opted_out_number_is_cancelled_and_the_lead_failed(api, tenant,
                                                                           django_capture_on_commit_callbacks):
    OptOut.objects.create(tenant=tenant, phone="+79991234567", source="keyword")
    response = create(api, django_capture_on_commit_callbacks)
    assert response.status_code == 201
    lead = api.get(f"{URL}/{response.data['lead']['id']}").data
    assert (lead["status"], lead["status_reason"]) == ("failed", "recipient opted out")
    assert lead["messages"][0]["status"] == "cancelled"
    assert MemoryProvider.outbox == []


def test_the_welcome_is_sent_once_however_often_the_task_runs(api, django_capture_on_commit_callbacks):
    lead_id = create(api, django_capture_on_commit_callbacks).data["lead"]["id"]
    with django_capture_on_commit_callbacks(execute=True):
        process_new_lead_task.delay(lead_id)
        process_new_lead_task.delay(lead_id)
    assert len(MemoryProvider.outbox) == 1
    assert Message.objects.count() == 1


def test_a_lead_whose_welcome_task_was_lost_is_welcomed_by_the_sweeper(api):
    response = api.post(URL, VALID, format="json")  # on_commit never runs here: the enqueue is "lost"
    lead = Lead.objects.get(pk=response.data["lead"]["id"])
    assert lead.status == "new"
    assert welcome_lost_leads_task() == 0  # too recent: its task may still be on the way
    Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    assert welcome_lost_leads_task() == 1
    lead.refresh_from_db()
    assert lead.status == "contacted"
    assert welcome_lost_leads_task() == 0
    assert Message.objects.filter(source_type="lead", source_id=str(lead.pk)).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need Postgres")
def test_two_workers_welcoming_the_same_lead_send_one_sms(tenant):
    lead = lead_create(tenant=tenant, name="Anna", phone="+79991234567", channel="call", consent_gdpr=True)
    Lead.objects.filter(pk=lead.pk).update(channel="sms")  # an SMS lead whose welcome has not run yet
    barrier = threading.Barrier(4)

    def worker():
        barrier.wait()
        lead_process_new(lead_id=lead.pk)
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Message.objects.filter(source_type="lead", source_id=str(lead.pk)).count() == 1
    assert Lead.objects.get(pk=lead.pk).status == "contacted"
