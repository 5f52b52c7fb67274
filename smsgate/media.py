"""MMS media: files tenants upload, the signed URLs carriers fetch them on, and the checks of a message's media.

An uploaded file is kept in Django's default storage under a random name
(`MediaFile`). Carriers fetch media without credentials, so its URL carries a
`django.core.signing` token naming the file, its tenant and an expiry
(`MMS_MEDIA_URL_DAYS`): `<PUBLIC_BASE_URL>/m/<token>`. A bad, tampered or expired
token is a 404. The content type is sniffed from the file's first bytes (JPEG,
PNG, GIF: the types Twilio fully supports), never taken from the upload's header.

At submit, a message's `media_urls` must be absolute http(s) URLs, at most
MMS_MAX_MEDIA of them; our own signed URLs must be valid until the message is
due, name a file of the same tenant, and add up to at most MMS_MAX_MESSAGE_BYTES.
Other URLs are not fetched (the gateway would become a proxy to anything, SSRF):
the carrier fetches them and reports what it cannot use as a permanent error.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q, Sum
from django.http.request import validate_host
from django.urls import reverse
from django.utils import timezone

from providers.registry import PROVIDERS, provider_class
from smsgate.models import MEDIA_URL_MAX_LENGTH, MediaFile, Message, Tenant
from smsgate.statuses import PENDING, Status

logger = logging.getLogger(__name__)

SALT = "smsgate.media"
MEDIA_PATH_PREFIX = "/m/"  # the public route of signed media URLs (smsgate.urls)
# Magic bytes -> the content type Twilio formats for handsets.
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
SNIFF_BYTES = 16
PREVIEW_SECONDS = 3600  # how long the console's preview of an upload works
# A message sent this recently may still have its media fetched (a carrier retrying, a handset downloading late).
RECENTLY_SENT = timedelta(days=1)


def sniffed_type(head: bytes) -> str | None:
    """The content type the file's first bytes prove, or None."""
    return next((kind for magic, kind in SIGNATURES if head.startswith(magic)), None)


def store_upload(tenant: Tenant, upload: UploadedFile) -> MediaFile:
    """Keep an uploaded file for MMS; ValidationError (on `file`) if it is empty, too big or not an image we send."""
    if upload.size == 0:
        raise ValidationError({"file": ["The file is empty."]})
    if upload.size > settings.MMS_MAX_FILE_BYTES:
        raise ValidationError({"file": [f"The file is {upload.size} bytes; the limit is "
                                        f"{settings.MMS_MAX_FILE_BYTES} bytes (MMS_MAX_FILE_BYTES)."]})
    _check_quota(tenant, upload.size)
    upload.seek(0)
    content_type = sniffed_type(upload.read(SNIFF_BYTES))
    upload.seek(0)
    if content_type is None:
        raise ValidationError({"file": ["Not a JPEG, PNG or GIF image (judged by its content, not its name or "
                                        "declared type)."]})
    return MediaFile.objects.create(tenant=tenant, file=upload, content_type=content_type, size=upload.size)


def _check_quota(tenant: Tenant, size: int) -> None:
    """ValidationError (on `file`) if keeping `size` more bytes takes the tenant past MMS_MAX_TENANT_BYTES."""
    limit = settings.MMS_MAX_TENANT_BYTES
    if not limit:
        return
    kept = MediaFile.objects.filter(tenant=tenant).aggregate(total=Sum("size"))["total"] or 0
    if kept + size > limit:
        raise ValidationError({"file": [
            f"This account keeps {kept} bytes of uploads; with this file it would pass its limit of {limit} bytes "
            f"(MMS_MAX_TENANT_BYTES). Uploads are deleted after MMS_MEDIA_RETENTION_DAYS="
            f"{settings.MMS_MEDIA_RETENTION_DAYS} days."]}, code="quota")


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: datetime


def signed_url(media: MediaFile, *, base_url: str = "") -> SignedUrl:
    """An absolute URL carriers can fetch `media` on until it expires (MMS_MEDIA_URL_DAYS).

    `base_url` is used when PUBLIC_BASE_URL is not set (development: the request's own address).
    """
    expires = int(time.time()) + settings.MMS_MEDIA_URL_DAYS * 86400
    base = settings.PUBLIC_BASE_URL or base_url.rstrip("/")
    return SignedUrl(base + signed_path(media, expires), datetime.fromtimestamp(expires).astimezone())


def signed_path(media: MediaFile, expires: int) -> str:
    """The path, on this gateway, serving `media` until `expires` (Unix time)."""
    token = signing.dumps({"m": media.pk, "t": media.tenant_id, "e": expires}, salt=SALT, compress=False)
    return reverse("media-file", args=[token])


@dataclass(frozen=True)
class Token:
    media_id: int
    tenant_id: int
    expires: int  # Unix time


def read_token(token: str) -> Token | None:
    """The token's content if it is authentic and well formed (expired or not), else None."""
    try:
        data = signing.loads(token, salt=SALT)
        return Token(int(data["m"]), int(data["t"]), int(data["e"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def media_for_token(token: str) -> MediaFile | None:
    """The file a valid, unexpired token names, or None."""
    read = read_token(token)
    if read is None or read.expires < time.time():
        return None
    return MediaFile.objects.filter(pk=read.media_id, tenant_id=read.tenant_id).first()


@dataclass(frozen=True)
class ShownMedia:
    """One media URL of a message as the console shows it: our own upload gets a preview."""

    url: str
    file: MediaFile | None = None
    preview_path: str = ""  # a freshly signed path on this host (the message's own URL may have expired)


def shown_media(message) -> list[ShownMedia]:
    """`message`'s media: our uploads (of its tenant, even if their URL expired) with a preview, others as links."""
    shown = []
    for url in message.media_urls:
        token = _own_token(url)
        read = read_token(token) if token is not None else None
        media = None
        if read is not None and read.tenant_id == message.tenant_id:
            media = MediaFile.objects.filter(pk=read.media_id, tenant_id=message.tenant_id).first()
        preview = signed_path(media, int(time.time()) + PREVIEW_SECONDS) if media else ""
        shown.append(ShownMedia(url, media, preview))
    return shown


def validated_media_urls(tenant: Tenant, urls, *, due_at: datetime) -> list[str]:
    """`urls` checked for an MMS due at `due_at`; ValidationError on `media_urls` saying what is wrong."""
    if not isinstance(urls, list | tuple) or not all(isinstance(url, str) for url in urls):
        raise _invalid("Must be a list of URLs.")
    if len(urls) > settings.MMS_MAX_MEDIA:
        raise _invalid(f"At most {settings.MMS_MAX_MEDIA} media per message; got {len(urls)}.")
    problems = [f"{index}: {problem}" for index, url in enumerate(urls) if (problem := _url_problem(url))]
    if problems:
        raise _invalid(*problems)
    _check_own_media(tenant, urls, due_at)
    return list(urls)


def no_mms_carrier(chain) -> str:
    """Why a provider chain (names, in order) cannot send MMS, or "" when a carrier in it can."""
    if any(name in PROVIDERS and provider_class(name).supports_mms for name in chain):
        return ""
    able = ", ".join(sorted(n for n in PROVIDERS if provider_class(n).supports_mms and n != "memory"))
    return f"No carrier of this account sends MMS (its chain: {', '.join(chain) or 'none'}); MMS go through {able}."


def sendable_media(tenant: Tenant, urls, *, due_at: datetime, chain) -> list[str]:
    """`urls` checked for an MMS due at `due_at` (`validated_media_urls`) through the provider `chain`: a
    ValidationError on `media_urls` unless a carrier in it sends MMS."""
    media = validated_media_urls(tenant, urls, due_at=due_at)
    if problem := no_mms_carrier(chain):
        raise ValidationError({"media_urls": [problem]}, code="no_mms_carrier")
    return media


def _invalid(*reasons: str) -> ValidationError:
    return ValidationError({"media_urls": list(reasons)}, code="invalid")


def _url_problem(url: str) -> str:
    if len(url) > MEDIA_URL_MAX_LENGTH:
        return f"a URL is at most {MEDIA_URL_MAX_LENGTH} characters (this one has {len(url)})."
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        return "a URL has no spaces or control characters."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "not a valid URL."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute http:// or https:// URL the carrier can fetch."
    return ""


def _own_token(url: str) -> str | None:
    """The token of one of our signed media URLs, or None for someone else's URL.

    Ours: on PUBLIC_BASE_URL's host, under its path; without it (development), on a host ALLOWED_HOSTS accepts
    (Django's own matching: wildcards, subdomains, any case).
    """
    parts = urlsplit(url)
    if settings.PUBLIC_BASE_URL:
        base = urlsplit(settings.PUBLIC_BASE_URL)
        prefix = base.path.rstrip("/") + MEDIA_PATH_PREFIX
        ours = parts.hostname is not None and parts.hostname == base.hostname
    else:
        prefix = MEDIA_PATH_PREFIX
        ours = parts.hostname is not None and validate_host(parts.hostname, settings.ALLOWED_HOSTS)
    if not ours or not parts.path.startswith(prefix):
        return None
    return parts.path.removeprefix(prefix).rstrip("/")


def _check_own_media(tenant: Tenant, urls, due_at: datetime) -> None:
    tokens = {index: token for index, url in enumerate(urls) if (token := _own_token(url)) is not None}
    if not tokens:
        return
    problems, media_ids = [], {}
    for index, token in tokens.items():
        read = read_token(token)
        if read is None or read.tenant_id != tenant.pk:
            problems.append(f"{index}: not a valid media URL of this account (upload the file again).")
        elif read.expires < due_at.timestamp() + settings.MMS_MEDIA_URL_MARGIN_SECONDS:
            problems.append(f"{index}: this media URL expires before the message is due (a signed URL works "
                            f"MMS_MEDIA_URL_DAYS={settings.MMS_MEDIA_URL_DAYS} days); upload the file again "
                            "closer to the send time.")
        else:
            media_ids[index] = read.media_id
    sizes = dict(MediaFile.objects.filter(tenant=tenant, pk__in=media_ids.values()).values_list("pk", "size"))
    problems += [f"{index}: the file was deleted; upload it again." for index, pk in media_ids.items()
                 if pk not in sizes]
    if problems:
        raise _invalid(*problems)
    total = sum(sizes[pk] for pk in media_ids.values())
    if total > settings.MMS_MAX_MESSAGE_BYTES:
        raise _invalid(f"The media add up to {total} bytes; the limit is {settings.MMS_MAX_MESSAGE_BYTES} bytes "
                       f"per message (MMS_MAX_MESSAGE_BYTES).")


def delete_old_uploads(now: datetime | None = None, batch: int = 500) -> int:
    """Delete uploads older than MMS_MEDIA_RETENTION_DAYS, their files first; returns how many.

    A file stays while a message still to be sent (or sent within RECENTLY_SENT) names it, whatever its age:
    the console can sign an old upload afresh and a message can use it. At most `batch` per call (the
    periodic task runs again).
    """
    if settings.MMS_MEDIA_RETENTION_DAYS <= 0:
        return 0
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.MMS_MEDIA_RETENTION_DAYS)
    if not MediaFile.objects.filter(created_at__lt=cutoff).exists():
        return 0
    # Those in use are left out of the query, so old files a paused campaign holds never block the others.
    old = MediaFile.objects.filter(created_at__lt=cutoff).exclude(pk__in=_named_by_messages_in_flight(now))
    deleted = 0
    for media in old.order_by("pk")[:batch]:
        try:
            media.file.delete(save=False)
        except OSError:  # the storage refused: keep the row, so the next run tries again
            logger.warning("could not delete the file of media #%s", media.pk, exc_info=True)
            continue
        media.delete()
        deleted += 1
    return deleted


def _named_by_messages_in_flight(now: datetime) -> set[int]:
    """Ids of our uploads that messages not sent yet, or sent within RECENTLY_SENT, name in their media."""
    waiting = Q(status__in=[*PENDING, Status.SENDING]) | Q(sent_at__gte=now - RECENTLY_SENT)
    ids = set()
    named = Message.objects.exclude(media_urls=[]).filter(waiting).values_list("media_urls", flat=True).distinct()
    for urls in named:  # a campaign's messages share one list: read once
        for url in urls:
            if (token := _own_token(url)) is not None and (read := read_token(token)) is not None:
                ids.add(read.media_id)
    return ids
