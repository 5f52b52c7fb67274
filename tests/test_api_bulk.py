"""POST /api/v1/sms/bulk: many messages, all or nothing."""

import pytest

from providers.memory import MemoryProvider
from smsgate.models import Message, OptOut
from templates.models import MessageTemplate, TemplateVariant

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/sms/bulk"


def test_it_accepts_many_and_sends_them(api):
    payload = {"messages": [{"phone": f"+55119111100{n:02d}", "message": f"hello {n}", "custom_id": f"c{n}"}
                            for n in range(20)]}
    response = api.post(URL, payload, format="json")
    assert response.status_code == 202, response.content
    assert response.data["count"] == 20 and len(set(response.data["ids"])) == 20
    assert sorted(m["body"] for m in MemoryProvider.outbox) == sorted(f"hello {n}" for n in range(20))
    assert Message.objects.get(custom_id="c7").body == "hello 7"


def test_template_entries_are_rendered_per_recipient(api, tenant):
    template = MessageTemplate.objects.create(tenant=tenant, code="hi")
    TemplateVariant.objects.create(template=template, label="A", body="Hi {name}")
    response = api.post(URL, {"messages": [
        {"phone": "+5511911110001", "template_code": "hi", "template_data": {"name": "Ana"}},
        {"phone": "+5511911110002", "message": "plain"},
    ]}, format="json")
    assert response.status_code == 202
    assert sorted(m["body"] for m in MemoryProvider.outbox) == ["Hi Ana", "plain"]


def test_one_bad_entry_fails_the_request_and_names_it(api):
    response = api.post(URL, {"messages": [
        {"phone": "+5511911110001", "message": "ok"},
        {"phone": "nope", "message": "bad phone"},
        {"phone": "+5511911110003"},
    ]}, format="json")
    assert response.status_code == 400
    assert set(response.json()["messages"]) == {"1", "2"}
    assert "phone" in response.json()["messages"]["1"]
    assert Message.objects.count() == 0


def test_an_opted_out_entry_fails_the_request(api, tenant):
    OptOut.objects.create(tenant=tenant, phone="+5511911110002")
    response = api.post(URL, {"messages": [
        {"phone": "+5511911110001", "message": "ok"}, {"phone": "+5511911110002", "message": "no"},
    ]}, format="json")
    assert response.status_code == 400
    assert "opted out" in str(response.json()["messages"]["1"])
    assert Message.objects.count() == 0 and MemoryProvider.outbox == []


@pytest.mark.parametrize("payload", [{}, {"messages": []}, {"messages": "x"},
                                     {"messages": [{"phone": "+5511911110001", "message": "x"}] * 1001}])
def test_malformed_or_oversized_batches_are_400(api, payload):
    assert api.post(URL, payload, format="json").status_code == 400
    assert Message.objects.count() == 0


def test_the_same_text_to_the_same_number_twice_is_refused_naming_the_copies(api):
    """1,000 copies of one SMS to one person is a client bug, not a campaign: refuse, and say which entries."""
    response = api.post(URL, {"messages": [
        {"phone": "+5511911110001", "message": "hello"},
        {"phone": "+5511911110002", "message": "hello"},
        {"phone": "(11) 91111-0001", "message": "hello"},  # the first number, written nationally
        {"phone": "+5511911110001", "message": "hello again"},
    ]}, format="json")
    assert response.status_code == 400
    assert response.json()["messages"] == {"2": {"phone": ["Same number and text as message 0: send it once."]}}
    assert Message.objects.count() == 0 and MemoryProvider.outbox == []


def test_bulk_needs_a_key(client):
    assert client.post(URL, {}, content_type="application/json").status_code == 401
