"""MMS media uploads and their signed URLs: what is accepted, what is refused, and how carriers fetch them."""

import time
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from smsgate.media import SALT
from smsgate.models import MediaFile, Message
from smsgate.sending.tasks import delete_old_media_task
from tests.conftest import client_for
from tests.mms_support import GIF, JPEG, UPLOAD, png, upload
from tests.sending import submit_one

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def path_of(url: str) -> str:
    assert url.startswith("https://gateway.example.com/m/"), url
    return url.removeprefix("https://gateway.example.com")


@pytest.mark.parametrize(("content", "kind"), [(png(), "image/png"), (GIF, "image/gif"), (JPEG, "image/jpeg")])
def test_an_upload_answers_a_signed_url_that_serves_the_file_with_its_sniffed_type(api, tenant, content, kind):
    response = upload(api, content, name="whatever.bin", content_type="application/octet-stream")
    assert response.status_code == 201, response.content
    assert response.data["content_type"] == kind
    assert response.data["size"] == len(content)
    media = MediaFile.objects.get(pk=response.data["id"])
    assert media.tenant == tenant
    assert "whatever" not in media.file.name  # stored under a random name
    fetched = Client().get(path_of(response.data["url"]))  # no credentials, like a carrier
    assert fetched.status_code == 200
    assert fetched["Content-Type"] == kind
    assert fetched["X-Content-Type-Options"] == "nosniff"
    assert b"".join(fetched.streaming_content) == content


def test_the_signed_url_expires_after_mms_media_url_days(api):
    response = upload(api, png())
    assert response.data["expires_at"]
    token = path_of(response.data["url"]).removeprefix("/m/")
    data = signing.loads(token, salt=SALT)
    assert 6.9 * 86400 < data["e"] - time.time() <= 7 * 86400


@pytest.mark.parametrize(("content", "name", "declared"), [
    (b"just some text, not an image", "notes.png", "image/png"),
    (b"<html><script>alert(1)</script></html>", "page.png", "image/png"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "vector.svg", "image/svg+xml"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "vector.png", "image/png"),
    (b"%PDF-1.4 a document", "doc.pdf", "application/pdf"),
])
def test_a_file_that_is_not_a_jpeg_png_or_gif_is_refused_whatever_it_claims(api, content, name, declared):
    response = upload(api, content, name=name, content_type=declared)
    assert response.status_code == 400
    assert "Not a JPEG, PNG or GIF image" in response.data["file"][0]
    assert not MediaFile.objects.exists()


def test_an_empty_file_is_refused(api):
    response = upload(api, b"")
    assert response.status_code == 400
    assert response.data["file"] == ["The file is empty."]


def test_a_file_over_mms_max_file_bytes_is_refused_with_the_limit(api, settings):
    settings.MMS_MAX_FILE_BYTES = 100
    response = upload(api, png(50, 50))
    assert response.status_code == 400
    assert "the limit is 100 bytes (MMS_MAX_FILE_BYTES)" in response.data["file"][0]


def test_a_body_far_over_the_limits_is_refused_with_413_before_it_is_read(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.MMS_MAX_FILE_BYTES = 1000
    response = upload(api, png() + b"\x00" * 5000)
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_an_image_bigger_than_the_request_limit_but_within_the_file_limit_is_accepted(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.MMS_MAX_FILE_BYTES = 10_000
    response = upload(api, png() + b"\x00" * 5000)
    assert response.status_code == 201, response.content


def test_no_file_field_is_a_400(api):
    response = api.post(UPLOAD, {"picture": "nothing"}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.data


def test_json_instead_of_a_form_is_a_415(api):
    response = api.post(UPLOAD, {"file": "aGVsbG8="}, format="json")
    assert response.status_code == 415


def test_an_upload_needs_an_api_key(db):
    response = Client().post(UPLOAD, {"file": png()})
    assert response.status_code in (401, 403)


@pytest.mark.parametrize("mangle", [
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # tampered signature
    lambda token: "x" + token,
    lambda token: "not-a-token",
    lambda token: "",
    lambda token: "a" * 3000,
])
def test_a_bad_token_is_a_404(api, mangle):
    token = path_of(upload(api, png()).data["url"]).removeprefix("/m/")
    assert Client().get(f"/m/{mangle(token)}").status_code == 404


def test_an_expired_token_is_a_404(api, tenant):
    media_id = upload(api, png()).data["id"]
    expired = signing.dumps({"m": media_id, "t": tenant.pk, "e": int(time.time()) - 1}, salt=SALT, compress=False)
    assert Client().get(f"/m/{expired}").status_code == 404


def test_a_token_naming_another_tenants_file_is_a_404(api, tenant, other_tenant):
    media_id = upload(api, png()).data["id"]
    forged = signing.dumps({"m": media_id, "t": other_tenant.pk, "e": int(time.time()) + 60}, salt=SALT)
    assert Client().get(f"/m/{forged}").status_code == 404


def test_a_file_gone_from_storage_is_a_404(api):
    url = upload(api, png()).data["url"]
    MediaFile.objects.get().file.delete(save=False)
    assert Client().get(path_of(url)).status_code == 404


def test_only_get_and_head_are_served(api):
    path = path_of(upload(api, png()).data["url"])
    assert Client().head(path).status_code == 200
    assert Client().post(path).status_code == 405


def test_tenants_upload_separately(api, other_tenant):
    upload(api, png())
    response = upload(client_for(other_tenant), GIF)
    assert MediaFile.objects.get(pk=response.data["id"]).tenant == other_tenant


def age(media_id: int, days: float) -> None:
    MediaFile.objects.filter(pk=media_id).update(created_at=timezone.now() - timedelta(days=days))


def test_uploads_past_their_retention_are_deleted_with_their_files(api, tenant, settings):
    settings.MMS_MEDIA_RETENTION_DAYS = 30
    old, recent = (upload(api, png()).data for _ in range(2))
    age(old["id"], 31)
    old_file = MediaFile.objects.get(pk=old["id"]).file
    assert old_file.storage.exists(old_file.name)

    assert delete_old_media_task() == 1
    assert list(MediaFile.objects.values_list("pk", flat=True)) == [recent["id"]]
    assert not old_file.storage.exists(old_file.name)
    assert Client().get(path_of(old["url"])).status_code == 404  # its URL had not expired: now it serves nothing


def test_an_old_upload_a_message_still_has_to_send_is_kept(api, tenant, settings):
    """The console can sign an old upload afresh: a message using it keeps it until a day after it was sent."""
    settings.MMS_MEDIA_RETENTION_DAYS = 30
    settings.SMS_PRIMARY_PROVIDER, settings.SMS_FALLBACK_PROVIDERS = "twilio", []  # an MMS carrier in the chain
    uploaded = upload(api, png()).data
    message = submit_one(tenant=tenant, to="+14155550140", body="Sale", media_urls=[uploaded["url"]],
                         send_at=timezone.now() + timedelta(days=2))
    age(uploaded["id"], 40)
    assert delete_old_media_task() == 0 and MediaFile.objects.filter(pk=uploaded["id"]).exists()

    Message.objects.filter(pk=message.pk).update(status="sent", sent_at=timezone.now() - timedelta(hours=2))
    assert delete_old_media_task() == 0  # sent two hours ago: a carrier may still fetch it
    Message.objects.filter(pk=message.pk).update(sent_at=timezone.now() - timedelta(days=2))
    assert delete_old_media_task() == 1 and not MediaFile.objects.exists()


def test_a_retention_of_zero_keeps_every_upload(api, tenant, settings):
    settings.MMS_MEDIA_RETENTION_DAYS = 0
    uploaded = upload(api, png()).data
    age(uploaded["id"], 3650)
    assert delete_old_media_task() == 0 and MediaFile.objects.count() == 1


@pytest.mark.parametrize(("public", "allowed", "url"), [
    ("", ["*"], "https://gw.example.com/m/{token}"),  # development: any host ALLOWED_HOSTS accepts
    ("", [".example.com"], "https://GW.Example.com/m/{token}"),
    ("https://gateway.example.com/sms", [], "https://gateway.example.com/sms/m/{token}"),  # behind a path
])
def test_our_own_media_urls_are_recognised_however_the_host_is_configured(tenant, other_tenant, settings,
                                                                          public, allowed, url):
    """Recognised as ours, another tenant's upload is refused: not waved through as someone else's URL."""
    from smsgate.media import signed_path, validated_media_urls

    settings.PUBLIC_BASE_URL, settings.ALLOWED_HOSTS = public, allowed
    theirs = MediaFile.objects.create(tenant=other_tenant, file="mms/x", content_type="image/png", size=10)
    token = signed_path(theirs, int(time.time()) + 86400).removeprefix("/m/")
    with pytest.raises(Exception, match="not a valid media URL of this account"):
        validated_media_urls(tenant, [url.format(token=token)], due_at=timezone.now())


def test_the_console_says_to_set_the_public_address_before_offering_a_signed_url(admin_client, tenant, settings):
    settings.PUBLIC_BASE_URL = ""
    media = MediaFile.objects.create(tenant=tenant, file="mms/x", content_type="image/png", size=10)
    page = admin_client.get(f"/admin/smsgate/mediafile/{media.pk}/change/").content.decode()
    assert "Set PUBLIC_BASE_URL: carriers fetch media on an absolute URL" in page


def test_a_tenants_uploads_stop_at_its_storage_limit(api, tenant, other_tenant, settings):
    picture = png()
    settings.MMS_MAX_TENANT_BYTES = 2 * len(picture) + 1
    assert [upload(api, picture).status_code for _ in range(3)] == [201, 201, 400]
    refused = upload(api, picture)
    assert "MMS_MAX_TENANT_BYTES" in refused.data["file"][0] and MediaFile.objects.count() == 2
    other = client_for(other_tenant)  # another tenant's allowance is its own
    assert upload(other, picture).status_code == 201
