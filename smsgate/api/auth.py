"""API-key authentication: `Authorization: Bearer <key>`, optional `X-Tenant-Id`.

A key found valid is remembered by the process for KEY_CACHE_SECONDS (a
database query per request was a fifth of the send API's time). So a key
revoked, or a tenant deactivated or edited, in another process takes effect
here within KEY_CACHE_SECONDS; saving an ApiKey or a Tenant through the ORM
in this process forgets it at once. Unknown keys are never remembered: each
costs a lookup and a token of the address's failed-authentication bucket.
"""

from datetime import timedelta
from time import monotonic

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from smsgate.api.throttling import FailedAuthThrottle, RedisRateThrottle, take_at_once
from smsgate.models import ApiKey, Tenant


class ApiClient:
    """Who is calling: a tenant, through one of its API keys.

    `key_wait` is the per-key rate limit's answer when authentication already asked it (None: not asked).
    """

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey, key_wait: float | None = None):
        self.api_key = api_key
        self.tenant: Tenant = api_key.tenant
        self.key_wait = key_wait

    def __str__(self) -> str:
        return f"api:{self.tenant.slug}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """A key remembered valid costs one Redis round trip: the address's failed authentications and the key's
    rate limit are asked together (the key's token is taken even if the request is then refused). Any other
    key is looked up only after the address's failed authentications allow it."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        failures = FailedAuthThrottle()
        scheme, _, raw_key = header.partition(" ")
        well_formed = scheme.lower() == self.keyword.lower() and raw_key.strip()
        key_hash = ApiKey.hash_key(raw_key.strip()) if well_formed else ""
        if well_formed and (api_key := _remembered_key(key_hash)):
            wait, key_wait = take_at_once((failures, failures.get_cache_key(request), 0),
                                          (ApiKeyRateThrottle(), _key_bucket(api_key), 1))
            _refuse_if_waiting(wait)
            _touch(api_key)
            return ApiClient(api_key, key_wait), api_key
        _refuse_if_waiting(failures.wait_before_trying(request))
        if not well_formed:
            failures.record_failure(request)
            raise exceptions.AuthenticationFailed("Use the header 'Authorization: Bearer <api key>'.")
        api_key = _valid_key(key_hash)
        if api_key is None:
            failures.record_failure(request)
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        _touch(api_key)
        return ApiClient(api_key), api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


def _refuse_if_waiting(wait: float) -> None:
    if wait:
        raise exceptions.Throttled(wait, "Too many failed authentications from this address.")


class HasTenant(permissions.BasePermission):
    """An API key is required; X-Tenant-Id, when sent, must name the key's tenant."""

    message = "X-Tenant-Id does not match this API key's tenant."

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.user, ApiClient):
            raise exceptions.NotAuthenticated("An API key is required: 'Authorization: Bearer <api key>'.")
        claimed = request.headers.get("X-Tenant-Id")
        if claimed is None:
            return True
        tenant = request.user.tenant
        return claimed.strip() in (tenant.slug, str(tenant.pk))


KEY_CACHE_SECONDS = 5.0
_KEY_CACHE_MAX = 10_000  # keys remembered at most (all forgotten beyond it)
_valid_keys: dict[str, tuple[float, ApiKey]] = {}  # key hash -> (monotonic expiry, the key with its tenant)


def _remembered_key(key_hash: str) -> ApiKey | None:
    """The key with this hash if this process found it valid less than KEY_CACHE_SECONDS ago.

    Its ApiKey and Tenant are shared by the requests of those seconds: read them only.
    """
    remembered = _valid_keys.get(key_hash)
    if remembered and remembered[0] > monotonic():
        return remembered[1]
    return None


def _valid_key(key_hash: str) -> ApiKey | None:
    """The active key with this hash, its tenant loaded, looked up in the database and remembered."""
    now = monotonic()
    api_key = ApiKey.objects.active().select_related("tenant").filter(key_hash=key_hash).first()
    if api_key is None:
        _valid_keys.pop(key_hash, None)
        return None
    if len(_valid_keys) >= _KEY_CACHE_MAX:
        _valid_keys.clear()
    _valid_keys[key_hash] = (now + KEY_CACHE_SECONDS, api_key)
    return api_key


@receiver([post_save, post_delete], sender=ApiKey)
@receiver([post_save, post_delete], sender=Tenant)
def _forget_keys(**kwargs) -> None:
    """A key or tenant saved in this process: look every key up again (other processes: KEY_CACHE_SECONDS)."""
    _valid_keys.clear()


def _touch(api_key: ApiKey) -> None:
    """Record use at most once a minute per process, so every request is not a write."""
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
        api_key.last_used_at = now  # the remembered key too: the next write is a minute away
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)


class ApiKeyRateThrottle(RedisRateThrottle):
    """API_RATE_LIMIT requests per API key (e.g. "1200/min"); beyond it, 429 with Retry-After."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        if not isinstance(request.user, ApiClient):
            return None  # unauthenticated requests are refused before they cost anything
        return _key_bucket(request.user.api_key)

    def allow_request(self, request, view) -> bool:
        client = request.user
        if isinstance(client, ApiClient) and client.key_wait is not None:  # asked while authenticating
            self.seconds_to_wait = client.key_wait
            return not self.seconds_to_wait
        return super().allow_request(request, view)


def _key_bucket(api_key: ApiKey) -> str:
    return ApiKeyRateThrottle.cache_format % {"scope": ApiKeyRateThrottle.scope, "ident": api_key.pk}
