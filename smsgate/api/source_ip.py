"""Who is on the other end of a request, as far as the network says."""

import ipaddress

from django.conf import settings

from smsgate.sending.submit import RequestMeta


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or with TRUST_X_FORWARDED_FOR the first address of X-Forwarded-For when it is an IP address.

    Only trust X-Forwarded-For behind a proxy that sets it: otherwise the client writes it.
    """
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR")


def user_agent(request) -> str:
    """The caller's User-Agent as it can be stored: without NUL characters (Postgres text cannot hold them)."""
    return request.headers.get("User-Agent", "").replace("\x00", "")


def request_meta(request) -> RequestMeta:
    """Where a request came from, as the submit step keeps it on the messages it creates."""
    return RequestMeta(ip=client_ip(request), user_agent=user_agent(request))
