"""Campaigns that send MMS: the console's Media field, checked on save and at schedule, carried by every message."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.costs import campaign_costs
from campaigns.models import Campaign, Contact, Tag
from campaigns.services import campaign_enqueue, campaign_schedule, start_due_campaigns
from providers.memory import MemoryProvider
from smsgate.consents import record_marketing_consent
from smsgate.media import signed_url
from smsgate.models import MediaFile, Message
from smsgate.sending.tasks import sweep_due_messages_task
from tests.campaign_console import form_errors, post_campaign
from tests.mms_support import png

pytestmark = pytest.mark.django_db
BANNER = "https://cdn.example.org/spring/banner.jpg?utm_source=sms,mms&x=1"  # a comma: one URL per line


@pytest.fixture(autouse=True)
def media_settings(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PUBLIC_BASE_URL = "https://gateway.example.com"


@pytest.fixture
def parents(tenant):
    tag = Tag.objects.create(tenant=tenant, name="parents")
    for phone in ("+5511911110001", "+5511911110002"):
        Contact.objects.create(tenant=tenant, phone=phone, name="Ana").tags.add(tag)
        record_marketing_consent(tenant=tenant, phone=phone, source="test")
    return tag


def upload(tenant) -> MediaFile:
    from django.core.files.base import ContentFile

    return MediaFile.objects.create(tenant=tenant, file=ContentFile(png(), name="p.png"), content_type="image/png",
                                    size=len(png()))


def test_a_campaign_sends_its_pictures_with_every_message(admin_client, tenant, parents):
    picture = signed_url(upload(tenant)).url
    response = post_campaign(admin_client, tenant, tags=[parents.pk], media_urls=f"{picture}\r\n\r\n {BANNER} \r\n")
    assert form_errors(response) == {}
    campaign = Campaign.objects.get()
    assert campaign.media_urls == [picture, BANNER]
    assert campaign_costs(campaign).segments == 1  # an MMS is one message, however long its text

    campaign_schedule(campaign)
    start_due_campaigns()
    campaign_enqueue(campaign.pk)
    sweep_due_messages_task()
    assert {tuple(m.media_urls) for m in Message.objects.all()} == {(picture, BANNER)}
    assert [sent["media_urls"] for sent in MemoryProvider.outbox] == [[picture, BANNER]] * 2
    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert "banner.jpg" in page  # the locked page still shows what it sent


@pytest.mark.parametrize(("media", "error"), [
    ("javascript:alert(1)", "absolute http:// or https:// URL"),
    ("\n".join(f"https://cdn.example.org/{n}.jpg" for n in range(11)), "At most 10 media"),
    ("https://cdn.example.org/" + "a" * 2100, "at most 2000 characters"),
    ("https://cdn.example.org/a\x00.jpg", "no spaces or control characters"),
    ("cdn.example.org/banner.jpg", "absolute http:// or https:// URL"),  # no scheme
    ("https://gateway.example.com/m/forged-token", "not a valid media URL of this account"),  # unsigned
])
def test_bad_media_are_form_errors_and_save_nothing(admin_client, tenant, parents, media, error):
    response = post_campaign(admin_client, tenant, tags=[parents.pk], media_urls=media)
    assert any(error in message for message in form_errors(response).get("media_urls", [])), form_errors(response)
    assert not Campaign.objects.exists()


def test_another_tenants_picture_is_refused(admin_client, tenant, other_tenant, parents):
    theirs = signed_url(upload(other_tenant)).url
    response = post_campaign(admin_client, tenant, tags=[parents.pk], media_urls=theirs)
    assert "media_urls" in form_errors(response) and not Campaign.objects.exists()


def test_a_chain_without_an_mms_carrier_is_a_form_error(admin_client, tenant, parents, settings):
    settings.SMS_PRIMARY_PROVIDER, settings.SMS_FALLBACK_PROVIDERS = "smsc", ["websms"]
    response = post_campaign(admin_client, tenant, tags=[parents.pk], media_urls=BANNER)
    assert any("No carrier of this account sends MMS" in m for m in form_errors(response)["media_urls"])


def test_a_picture_whose_signed_url_expires_before_the_send_cannot_be_scheduled(admin_client, tenant, parents):
    picture = signed_url(upload(tenant)).url  # works MMS_MEDIA_URL_DAYS (7)
    later = timezone.localtime() + timedelta(days=10)
    response = post_campaign(admin_client, tenant, tags=[parents.pk], media_urls=picture,
                             scheduled_at_0=later.strftime("%Y-%m-%d"), scheduled_at_1="10:00:00")
    assert "media_urls" in form_errors(response)

    campaign = Campaign.objects.create(tenant=tenant, name="Later", body="Oi", media_urls=[picture])
    campaign.tags.add(parents)
    with pytest.raises(Exception, match="media_urls"):
        campaign_schedule(campaign, when=timezone.now() + timedelta(days=10))
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"


def test_a_campaign_whose_picture_expired_while_paused_is_not_resumed(tenant, parents, settings):
    from campaigns.services import campaign_pause, campaign_resume

    picture = signed_url(upload(tenant)).url
    campaign = Campaign.objects.create(tenant=tenant, name="Spring", body="Oi", media_urls=[picture])
    campaign.tags.add(parents)
    campaign_schedule(campaign)
    start_due_campaigns()
    campaign_enqueue(campaign.pk)
    campaign_pause(campaign, by="ops")
    settings.MMS_MEDIA_URL_MARGIN_SECONDS = 8 * 86400  # as if the URL's seven days ran out while it was paused
    with pytest.raises(Exception, match="Its media can no longer be sent.*Cancel it"):
        campaign_resume(campaign)
    campaign.refresh_from_db()
    assert campaign.status == "paused" and set(Message.objects.values_list("status", flat=True)) == {"scheduled"}
