"""API-key authentication: `Authorization: Bearer <key>`, optional `X-Tenant-Id`."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from smsgate.api.throttling import FailedAuthThrottle, RedisRateThrottle
from smsgate.models import ApiKey, Tenant


class ApiClient:
    """Who is calling: a tenant, through one of its API keys."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.tenant: Tenant = api_key.tenant

    def __str__(self) -> str:
        return f"api:{self.tenant.slug}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        failures = FailedAuthThrottle()
        if wait := failures.wait_before_trying(request):
            raise exceptions.Throttled(wait, "Too many failed authentications from this address.")
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != self.keyword.lower() or not raw_key.strip():
            failures.record_failure(request)
            raise exceptions.AuthenticationFailed("Use the header 'Authorization: Bearer <api key>'.")
        key = ApiKey.objects.active().select_related("tenant").filter(key_hash=ApiKey.hash_key(raw_key.strip()))
        api_key = key.first()
        if api_key is None:
            failures.record_failure(request)
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        _touch(api_key)
        return ApiClient(api_key), api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


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


def _touch(api_key: ApiKey) -> None:
    """Record use at most once a minute, so every request is not a write."""
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)


class ApiKeyRateThrottle(RedisRateThrottle):
    """API_RATE_LIMIT requests per API key (e.g. "1200/min"); beyond it, 429 with Retry-After."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        if not isinstance(request.user, ApiClient):
            return None  # unauthenticated requests are refused before they cost anything
        return self.cache_format % {"scope": self.scope, "ident": request.user.api_key.pk}
