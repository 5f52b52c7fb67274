"""MMS in the console: the message page shows the media (thumbnails of our uploads, links to others), the log is
filtered to MMS, and the test_sms command sends one. The page is checked in headless Chromium too."""

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from smsgate.media import signed_url, store_upload
from smsgate.models import Message, Tenant
from tests.browser import keep_screenshot, needs_chromium, open_page
from tests.messages_log_support import dispatched, seed_log
from tests.mms_support import png
from tests.sending import submit_one

pytestmark = pytest.mark.django_db
LIST = reverse("admin:smsgate_message_changelist")
EXTERNAL = "https://cdn.example.org/spring-sale/banner-1200x628.jpg?utm_source=sms&utm_campaign=spring"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def mms(tenant, twilio) -> Message:
    """An MMS as an operator meets one: an uploaded picture and a CDN banner, sent through the fake Twilio."""
    picture = store_upload(tenant, SimpleUploadedFile("flyer.png", png(120, 80), content_type="image/png"))
    own = signed_url(picture).url
    return dispatched(submit_one(tenant=tenant, to="+14155550140", body="Spring sale: 20% off until Sunday",
                                 media_urls=[own, EXTERNAL]))


def test_the_message_page_shows_thumbnails_of_our_uploads_and_links_to_the_rest(admin_client, tenant, twilio):
    message = mms(tenant, twilio)
    assert message.status == "sent"
    page = admin_client.get(reverse("admin:smsgate_message_change", args=[message.pk])).content.decode()
    assert "Media (2, sent as MMS)" in page
    assert page.count('class="media-thumbnail"') == 1
    assert 'href="https://cdn.example.org/spring-sale/banner-1200x628.jpg?utm_source=sms&amp;utm_campaign=spring"' \
        in page
    assert 'rel="noopener noreferrer nofollow"' in page
    assert "image/png" in page


def test_a_thumbnail_still_shows_after_the_messages_own_url_expired(admin_client, tenant, settings):
    picture = store_upload(tenant, SimpleUploadedFile("flyer.png", png(), content_type="image/png"))
    message = submit_one(tenant=tenant, to="+14155550141", body="hi", media_urls=[signed_url(picture).url])
    settings.MMS_MEDIA_URL_DAYS = 0  # the preview is signed afresh, for an hour
    page = admin_client.get(reverse("admin:smsgate_message_change", args=[message.pk])).content.decode()
    preview = page.split('class="media-thumbnail" src="')[1].split('"')[0]
    assert preview.startswith("/m/")
    response = Client().get(preview)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"


def test_another_tenants_signed_url_gets_no_thumbnail(admin_client, tenant, other_tenant):
    theirs = store_upload(other_tenant, SimpleUploadedFile("x.png", png(), content_type="image/png"))
    message = submit_one(tenant=tenant, to="+14155550142", body="hi", media_urls=[EXTERNAL])
    Message.objects.filter(pk=message.pk).update(media_urls=[signed_url(theirs).url])  # as if forged into the row
    page = admin_client.get(reverse("admin:smsgate_message_change", args=[message.pk])).content.decode()
    assert 'class="media-thumbnail"' not in page and 'class="media-link"' in page


def test_the_log_is_filtered_to_mms_and_marks_them(admin_client, tenant):
    sms = submit_one(tenant=tenant, to="+14155550143", body="plain text")
    with_media = submit_one(tenant=tenant, to="+14155550144", body="look", media_urls=[EXTERNAL, EXTERNAL + "&2"])
    only_mms = admin_client.get(LIST, {"kind": "mms"}).content.decode()
    assert f'value="{with_media.pk}"' in only_mms and f'value="{sms.pk}"' not in only_mms
    assert 'class="mms-badge"' in only_mms and "MMS (2)" in only_mms
    only_sms = admin_client.get(LIST, {"kind": "sms"}).content.decode()
    assert f'value="{sms.pk}"' in only_sms and f'value="{with_media.pk}"' not in only_sms


def test_the_test_sms_command_sends_an_mms(db):
    out = StringIO()
    call_command("test_sms", "--phone", "+14155550145", "--media", EXTERNAL, "--media", "https://x.example/b.gif",
                 stdout=out)
    message = Message.objects.get(to="+14155550145")
    assert message.media_urls == [EXTERNAL, "https://x.example/b.gif"]
    assert message.tenant.slug == Tenant.DEFAULT_SLUG
    assert "with 2 media" in out.getvalue()


def test_the_test_sms_command_refuses_a_bad_media_url(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="absolute http:// or https://"):
        call_command("test_sms", "--phone", "+14155550146", "--media", "javascript:alert(1)", stdout=StringIO())


@needs_chromium
def test_the_mms_page_in_chromium_shows_the_thumbnail_and_fits(live_server, admin_user, tenant, twilio, settings,
                                                               tmp_path):
    seed_log(tenant, twilio, settings)  # a realistic log around it
    message = mms(tenant, twilio)
    path = reverse("admin:smsgate_message_change", args=[message.pk])
    page = open_page(live_server, admin_user, path, tmp_path, screenshot=tmp_path / "mms.png",
                     expect=["#message-summary .message-media img.media-thumbnail", "a.media-link",
                             "#message-timeline tr.event-attempt"])
    assert page.missing == []
    page.assert_fits()  # also: the console is silent, so the thumbnail loaded (a 404 would log an error)
    keep_screenshot(tmp_path / "mms.png", min_bytes=30_000)


@needs_chromium
def test_the_log_filtered_to_mms_fits_in_chromium(live_server, admin_user, tenant, twilio, settings, tmp_path):
    seed_log(tenant, twilio, settings)
    mms(tenant, twilio)
    page = open_page(live_server, admin_user, LIST + "?kind=mms", tmp_path,
                     expect=[".mms-badge", "#changelist-filter"])
    assert page.missing == []
    page.assert_fits()


def test_resending_an_mms_whose_signed_url_expired_says_why(admin_client, tenant, settings):
    picture = store_upload(tenant, SimpleUploadedFile("flyer.png", png(), content_type="image/png"))
    message = submit_one(tenant=tenant, to="+14155550147", body="hi", media_urls=[signed_url(picture).url])
    Message.objects.filter(pk=message.pk).update(status="delivered")
    settings.MMS_MEDIA_URL_MARGIN_SECONDS = 8 * 86400  # as if the URL were about to expire
    response = admin_client.post(reverse("admin:smsgate_message_resend", args=[message.pk]), follow=True)
    assert response.status_code == 200
    assert "expires before the message is due" in response.content.decode()
    assert Message.objects.count() == 1


def test_resending_an_mms_copies_its_media(admin_client, tenant):
    message = submit_one(tenant=tenant, to="+14155550148", body="hi", media_urls=[EXTERNAL])
    Message.objects.filter(pk=message.pk).update(status="delivered")
    admin_client.post(reverse("admin:smsgate_message_resend", args=[message.pk]))
    assert Message.objects.get(source_type="resend").media_urls == [EXTERNAL]


def test_uploads_are_listed_read_only_with_a_preview_and_a_fresh_url(admin_client, tenant):
    picture = store_upload(tenant, SimpleUploadedFile("flyer.png", png(), content_type="image/png"))
    listing = admin_client.get(reverse("admin:smsgate_mediafile_changelist")).content.decode()
    assert 'class="media-thumbnail" src="/m/' in listing
    page = admin_client.get(reverse("admin:smsgate_mediafile_change", args=[picture.pk])).content.decode()
    assert "https://gateway.example.com/m/" in page and "works until" in page
    assert admin_client.get(reverse("admin:smsgate_mediafile_add")).status_code == 403


def test_the_test_sms_api_sends_an_mms(api):
    response = api.post("/api/webhooks/test-sms/", {"phone_number": "+14155550149", "message": "test",
                                                    "media_urls": [EXTERNAL]}, format="json")
    assert response.status_code == 202, response.content
    assert Message.objects.get(pk=response.data["id"]).media_urls == [EXTERNAL]
    refused = api.post("/api/webhooks/test-sms/", {"phone_number": "+14155550149", "message": "test",
                                                   "media_urls": ["file:///etc/passwd"]}, format="json")
    assert refused.status_code == 400 and "media_urls" in refused.data
