"""Who is on the other end of a request, as far as the network says."""

from django.conf import settings


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or with TRUST_X_FORWARDED_FOR the first address of X-Forwarded-For.

    Only trust X-Forwarded-For behind a proxy that sets it: otherwise the client writes it.
    """
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")
