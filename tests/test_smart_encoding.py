"""Smart encoding: look-alike characters replaced by GSM-7 ones when that saves segments, and nothing else."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from providers.memory import MemoryProvider
from providers.segments import LOOKALIKES, count_segments, smart_encode
from smsgate.models import Message
from tests.test_messages_admin import rows

SEND, BULK = "/api/v1/sms/send", "/api/v1/sms/bulk"
PHONE = "+5511987654321"
# 3 UCS-2 segments as written (150 UTF-16 units); 1 GSM-7 segment once its quotes and dashes are replaced.
CURLY = " ".join(["“Hello” – it’s Ana’s shop — your order’s ready…"] * 3)
PLAIN = " ".join(['"Hello" - it\'s Ana\'s shop - your order\'s ready...'] * 3)


def test_the_example_is_three_ucs2_segments_as_written():
    assert (count_segments(CURLY).encoding, count_segments(CURLY).segments) == ("ucs2", 3)


def test_look_alikes_are_replaced_when_that_saves_segments():
    encoded = smart_encode(CURLY)
    assert encoded.body == PLAIN
    assert (encoded.info.encoding, encoded.info.segments, encoded.saved) == ("gsm7", 1, 2)


def test_every_replacement_is_gsm7_and_every_listed_character_is_not():
    for character, replacement in LOOKALIKES.items():
        assert count_segments(character).encoding == "ucs2", repr(character)
        assert replacement == "" or count_segments(replacement).encoding == "gsm7", repr(character)


def test_the_whole_table_at_once_becomes_its_replacements():
    everything = "x" + "".join(LOOKALIKES) * 2
    encoded = smart_encode(everything)
    assert encoded.body == "x" + "".join(LOOKALIKES.values()) * 2
    assert encoded.info.encoding == "gsm7" and encoded.saved > 0


@pytest.mark.parametrize("foreign", ["ł", "ç", "😀", "я", "•", "Ａ", "\t", "\u200d"])
def test_a_character_without_equivalent_leaves_the_whole_text_as_written(foreign):
    body = CURLY + foreign
    encoded = smart_encode(body)
    assert encoded.body == body and encoded.saved == 0 and encoded.info == count_segments(body)


def test_a_text_already_gsm7_or_no_shorter_once_replaced_is_left_as_written():
    assert smart_encode(PLAIN).body == PLAIN
    short = "It’s ready"  # one segment either way: no saving, so no change
    assert smart_encode(short).body == short and smart_encode(short).saved == 0


def test_combining_accents_are_composed_when_the_composed_letter_is_gsm7():
    decomposed = "Cafe\u0301 “ouvert” " * 10  # é written as e + combining acute; é is GSM-7
    encoded = smart_encode(decomposed)
    assert encoded.body == 'Café "ouvert" ' * 10 and encoded.info.encoding == "gsm7" and encoded.saved == 2
    ogonek = "a\u0328 “x” " * 30  # ą has no GSM-7 form: left alone, combining mark and all
    assert smart_encode(ogonek).body == ogonek


def test_a_replacement_longer_than_the_limit_is_not_made():
    body = "a" * 1590 + "…" * 10
    assert smart_encode(body, max_chars=1600).body == body
    assert smart_encode(body, max_chars=1620).body == "a" * 1590 + "." * 30


@pytest.mark.django_db(transaction=True)
def test_the_flag_sends_gsm7_and_the_api_shows_the_segments_saved(api):
    response = api.post(SEND, {"phone": PHONE, "message": CURLY, "smart_encoding": True}, format="json")
    assert response.status_code == 202, response.content
    assert (response.data["encoding"], response.data["segments"], response.data["segments_saved"]) == ("gsm7", 1, 2)
    assert response.data["body"] == PLAIN
    assert [sent["body"] for sent in MemoryProvider.outbox] == [PLAIN]
    log = api.get(f"/api/v1/sms/logs/{response.data['id']}")
    assert (log.data["segments"], log.data["segments_saved"], log.data["status"]) == (1, 2, "sent")


@pytest.mark.django_db(transaction=True)
def test_the_tenant_setting_applies_when_the_request_says_nothing(api, tenant):
    tenant.smart_encoding = True
    tenant.save()
    response = api.post(SEND, {"phone": PHONE, "message": CURLY}, format="json")
    assert response.data["segments_saved"] == 2 and MemoryProvider.outbox[0]["body"] == PLAIN


@pytest.mark.django_db(transaction=True)
def test_the_flag_false_overrides_the_tenant_setting(api, tenant):
    tenant.smart_encoding = True
    tenant.save()
    response = api.post(SEND, {"phone": PHONE, "message": CURLY, "smart_encoding": False}, format="json")
    assert (response.data["encoding"], response.data["segments"], response.data["segments_saved"]) == ("ucs2", 3, 0)
    assert MemoryProvider.outbox[0]["body"] == CURLY


@pytest.mark.django_db(transaction=True)
def test_without_setting_or_flag_nothing_is_replaced(api):
    response = api.post(SEND, {"phone": PHONE, "message": CURLY, "smart_encoding": None}, format="json")
    assert (response.data["encoding"], response.data["segments_saved"]) == ("ucs2", 0)
    assert MemoryProvider.outbox[0]["body"] == CURLY


@pytest.mark.django_db(transaction=True)
def test_a_text_with_an_emoji_is_sent_as_written(api):
    body = CURLY + "😀"
    response = api.post(SEND, {"phone": PHONE, "message": body, "smart_encoding": True}, format="json")
    assert (response.data["encoding"], response.data["segments_saved"]) == ("ucs2", 0)
    assert MemoryProvider.outbox[0]["body"] == body


@pytest.mark.django_db(transaction=True)
def test_a_text_at_the_length_limit_is_accepted_and_left_as_written(api):
    body = "a" * 1590 + "…" * 10
    response = api.post(SEND, {"phone": PHONE, "message": body, "smart_encoding": True}, format="json")
    assert response.status_code == 202, response.content
    assert (response.data["body"], response.data["segments_saved"]) == (body, 0)


@pytest.mark.django_db(transaction=True)
def test_a_repeat_with_the_same_idempotency_key_is_the_same_request_whatever_the_flag(api):
    first = api.post(SEND, {"phone": PHONE, "message": CURLY, "smart_encoding": True}, format="json",
                     HTTP_IDEMPOTENCY_KEY="order-1")
    again = api.post(SEND, {"phone": PHONE, "message": CURLY, "smart_encoding": False}, format="json",
                     HTTP_IDEMPOTENCY_KEY="order-1")
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert (again.data["id"], again.data["body"], again.data["segments_saved"]) == (first.data["id"], PLAIN, 2)
    assert len(MemoryProvider.outbox) == 1


@pytest.mark.parametrize("flag", ["yes", 1, "true", [True]])
def test_a_flag_that_is_not_a_boolean_is_a_400(api, flag):
    response = api.post(SEND, {"phone": PHONE, "message": CURLY, "smart_encoding": flag}, format="json")
    assert response.status_code == 400 and "smart_encoding" in response.data
    assert not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_bulk_applies_the_request_flag_an_entry_may_override_it_and_the_answer_sums_the_savings(api):
    response = api.post(BULK, {"smart_encoding": True, "messages": [
        {"phone": "+5511911110001", "message": CURLY, "custom_id": "a"},
        {"phone": "+5511911110002", "message": CURLY, "custom_id": "b", "smart_encoding": False},
        {"phone": "+5511911110003", "message": CURLY + "ł", "custom_id": "c"},
    ]}, format="json")
    assert response.status_code == 202, response.content
    assert response.data["segments_saved"] == 2
    saved = dict(Message.objects.values_list("custom_id", "segments_saved"))
    assert saved == {"a": 2, "b": 0, "c": 0}
    assert Message.objects.get(custom_id="a").body == PLAIN


@pytest.mark.django_db(transaction=True)
def test_a_bulk_entry_may_ask_for_it_when_the_tenant_does_not(api):
    response = api.post(BULK, {"messages": [{"phone": "+5511911110001", "message": CURLY, "smart_encoding": True},
                                            {"phone": "+5511911110002", "message": CURLY}]}, format="json")
    assert response.data["segments_saved"] == 2
    assert sorted(m["body"] for m in MemoryProvider.outbox) == sorted([PLAIN, CURLY])


@pytest.mark.django_db(transaction=True)
def test_the_carrier_receives_the_replaced_text(api, twilio):
    response = api.post(SEND, {"phone": "+14155550123", "message": CURLY, "smart_encoding": True}, format="json")
    assert response.status_code == 202, response.content
    [request] = twilio.requests
    assert request.form["Body"] == [PLAIN]


@pytest.mark.django_db(transaction=True)
def test_the_console_shows_the_segments_saved(api, admin_client):
    saved = api.post(SEND, {"phone": PHONE, "message": CURLY, "smart_encoding": True}, format="json").data["id"]
    plain = api.post(SEND, {"phone": "+5511911110001", "message": "hi"}, format="json").data["id"]
    table = rows(admin_client.get(reverse("admin:smsgate_message_changelist")))
    assert (table[saved]["parts"], table[plain]["parts"]) == ("1 (2 saved)", "1")
    page = admin_client.get(reverse("admin:smsgate_message_change", args=[saved])).content.decode()
    assert "1 (GSM-7)" in page and "2 saved by smart encoding" in page


def test_the_tenant_setting_is_editable_in_the_admin(admin_client, tenant):
    url = reverse("admin:smsgate_tenant_change", args=[tenant.pk])
    assert 'name="smart_encoding"' in admin_client.get(url).content.decode()


def test_docs_list_every_replaced_character():
    table = Path(settings.BASE_DIR, "docs", "PROVIDERS.md").read_text().split("## Smart encoding")[1]
    table = table.replace("U+2000–U+200A", " ".join(f"U+{code:04X}" for code in range(0x2000, 0x200B)))
    documented = set(re.findall(r"U\+([0-9A-F]{4})", table.split("Left alone")[0]))
    assert documented == {f"{ord(character):04X}" for character in LOOKALIKES}
