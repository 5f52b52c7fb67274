"""Who is on the other end of a request, as far as the network says."""

import ipaddress

from django.conf import settings

from smsgate.sending.submit import RequestMeta


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or with TRUST_X_FORWARDED_FOR the client's address as our own proxies recorded it.

    Each proxy appends the address it received the request from to X-Forwarded-For, after whatever the
    client sent. So behind TRUSTED_PROXY_COUNT proxies the client is that many entries from the right;
    the entries before it are the client's own writing (a forged address to dodge the failed-login
    throttle) and are ignored. A header that is not an address there gives way to REMOTE_ADDR.
    """
    if settings.TRUST_X_FORWARDED_FOR:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = hops[-min(max(settings.TRUSTED_PROXY_COUNT, 1), len(hops))]
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
