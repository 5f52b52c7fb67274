"""Standing gate: no recipients CSV, through the admin or handed to import_csv, gets a 5xx or imports part of a
file it refuses.

A refused upload is a form error that creates neither the campaign nor a recipient; an accepted one imports only
valid numbers (E.164), never more recipients than rows.
"""

import random

import pytest

from campaigns.audience import import_csv
from campaigns.models import Campaign, Recipient
from tests.campaign_upload import form_errors, upload_csv

pytestmark = pytest.mark.django_db

ROW = b"+5511911110001,Ana\n"
HOSTILE_FILES = {
    "NUL in the header": b"pho\x00ne,name\n" + ROW,
    "NUL in a field": b"phone,name\n+5511911110001,A\x00na\n",
    "NUL at the end": b"phone,name\n" + ROW + b"\x00",
    "NUL in Windows-1252 text": "phone,name\n+5511911110001,Jos\xe9\x00\n".encode("cp1252"),
    "DOS end-of-file mark": b"phone,name\n" + ROW + b"\x1a",
    "CR-only lines": b"phone,name\r+5511911110001,Ana\r+5511911110002,Bia\r",
    "mixed line ends": b"phone,name\r\n+5511911110001,Ana\n+5511911110002,Bia\r+5511911110003,Caio",
    "ELF binary": b"\x7fELF\x02\x01\x01\x00" + bytes(200),
    "PNG": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
    "zip (an .xlsx)": b"PK\x03\x04\x14\x00\x06\x00" + bytes(100),
    "random bytes": random.Random(13).randbytes(4096),
    "UTF-16 without a BOM": "phone,name\n+5511911110001,Ana\n".encode("utf-16-le"),
    "UTF-8-encoded surrogate": b"phone,name\n+5511911110001,\xed\xa0\x80\n",
    "broken UTF-8 sequence": b"phone,name\n+5511911110001,\xc3\x28\n",
    "only a BOM": b"\xef\xbb\xbf",
    "only line ends": b"\n\n\n\r\n",
    "header only": b"phone,name\n",
    "no phone column": b"name,city\nAna,Rio\n",
    "two phone columns": b"phone,phone\n+5511911110001,+5511911110002\n",
    "empty column names": b",phone,\nx,+5511911110001,y\n",
    "10,000 columns": b"phone," + b",".join(b"c%d" % n for n in range(10_000)) + b"\n+5511911110001\n",
    "a field over the csv module's limit": b'phone,name\n+5511911110001,"' + b"x" * 200_000 + b'"\n',
    "a 100,000-character field": b"phone,name\n+5511911110001," + b"x" * 100_000 + b"\n",
    "an unclosed quote": b'phone,name\n"+5511911110001,Ana\n+5511911110002,Bia\n',
    "quotes only": b'phone\n' + b'"' * 1001 + b"\n",
    "more fields than the header": b"phone\n+5511911110001,extra,more\n",
    "fewer fields than the header": b"phone,name,city\n+5511911110001\n",
    "a 1,000-digit number": b"phone\n+55" + b"9" * 1000 + b"\n",
    "numbers out of range": b"phone,amount\n1e400,NaN\n-1,99999999999999999999999999999\n+5511911110001,-Infinity\n",
    "impossible dates": b"phone,birthday\n+5511911110001,9999-99-99\n+5511911110002,0000-00-00T25:61:61Z\n",
    "a formula": b"phone,name\n+5511911110001,=HYPERLINK(\"http://x\")\n",
}
HOSTILE_TEXTS = {  # what code (not an upload) may hand to import_csv
    "NUL": "phone,name\n+5511911110001,A\x00na\n",
    "unpaired surrogate": "phone,name\n+5511911110001,\ud800\n",
    "surrogate in the header": "phone,n\udc00ame\n+5511911110001,Ana\n",
    "CR-only lines": "phone,name\r+5511911110001,Ana\r",
    "an unclosed quote": 'phone,name\n"+5511911110001,Ana\n',
}


@pytest.mark.parametrize("data", HOSTILE_FILES.values(), ids=HOSTILE_FILES.keys())
def test_a_hostile_upload_is_a_form_error_or_imports_only_valid_numbers(admin_client, tenant, data):
    response = upload_csv(admin_client, tenant, data)
    assert response.status_code == 200
    if form_errors(response):
        assert Campaign.objects.count() == Recipient.objects.count() == 0
        return
    campaign = Campaign.objects.get(name="Upload")
    phones = list(campaign.recipients.values_list("phone", flat=True))
    assert len(phones) <= len(data.splitlines())
    assert all(phone.startswith("+") and phone[1:].isdigit() for phone in phones)


@pytest.mark.parametrize("text", HOSTILE_TEXTS.values(), ids=HOSTILE_TEXTS.keys())
def test_hostile_text_handed_to_import_csv_imports_all_or_nothing(tenant, text):
    campaign = Campaign.objects.create(tenant=tenant, name="direct", body="Oi")
    result = import_csv(campaign, text)
    assert result.added == campaign.recipients.count()
    if result.added == 0:
        assert result.errors
