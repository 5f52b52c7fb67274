"""Carrier callbacks: POST /api/v1/sms/delivery/<provider> and /api/v1/sms/inbound/<provider>.

Plain Django views: carriers post form or JSON bodies, not API keys. Every
callback goes through the same steps, in this order (the model is
django-anymail's webhook view: validators, then parsing):

1. The account: `?tenant=<slug>` (which the callback URLs of a tenant's own
   account carry) names the tenant whose account's credentials apply; without
   it, or if that tenant has no account here, the platform's settings do.
2. The backend authenticates the request with those credentials (signature,
   URL secret or token): a forged one gets 403 and nothing is read further.
3. The backend parses it. Fields that cannot be used (wrong JSON type, NUL,
   an id longer than its column, an impossible date) refuse the whole
   callback: 400 with the field errors, or, for a carrier that would post it
   again and again, 200 with the raw body stored as unusable.
4. The core records it within the account: it touches only messages sent
   through that account, and replies land on that account's tenant.

Unknown messages still get 200, so carriers stop retrying.
"""

import logging
import re

from django.http import Http404, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from providers.base import UnusableCallback, WebhookAuthError
from providers.registry import Route, UnknownProvider, get_provider, provider_class, route_for
from smsgate.api.source_ip import client_ip
from smsgate.models import Tenant
from smsgate.tracking.receipts import check_storable, record_delivery, record_inbound, record_unusable

logger = logging.getLogger(__name__)

SLUG = re.compile(r"[-a-zA-Z0-9_]{1,50}")


def _route_or_404(request, name: str) -> Route:
    """The credentials that authenticate this callback, and the account they belong to (None: the platform)."""
    try:
        provider_class(name)
    except UnknownProvider:
        raise Http404("unknown provider") from None
    slug = request.GET.get("tenant")
    if not slug:
        return Route(name=name, provider=get_provider(name))  # the registry's reused backend
    tenant = Tenant.objects.filter(slug=slug).first() if SLUG.fullmatch(slug) else None
    if tenant is None:
        raise Http404("unknown tenant")
    return route_for(name, tenant)


def _handle(request, provider: str, kind: str):
    route = _route_or_404(request, provider)
    backend = route.provider
    if kind not in backend.callback_kinds:
        raise Http404(f"{provider} has no {kind} callbacks")
    try:
        backend.authenticate_callback(request, kind)
    except WebhookAuthError as exc:
        logger.warning("rejected %s %s callback from %s: %s", provider, kind, client_ip(request), exc)
        return HttpResponseForbidden("invalid signature")
    parse, record = {
        "delivery": (backend.parse_delivery, record_delivery),
        "inbound": (backend.parse_inbound, record_inbound),
    }[kind]
    try:
        items = parse(request)
        for item in items:
            check_storable(item)
    except UnusableCallback as exc:
        return _unusable(request, route, kind, exc)
    for item in items:
        record(provider, item, account_id=route.account_id)
    return backend.webhook_response(kind)


def _unusable(request, route: Route, kind: str, exc: UnusableCallback):
    logger.warning("unusable %s %s callback (account %s): %s", route.name, kind, route.account_id, exc)
    if route.provider.retries_refused_callbacks:
        record_unusable(route.name, kind, request.body, exc.errors, account_id=route.account_id)
        return route.provider.webhook_response(kind)
    return JsonResponse({"detail": f"unusable {kind} callback", "errors": exc.errors}, status=400)


@csrf_exempt
@require_POST
def delivery_receipt(request, provider: str):
    return _handle(request, provider, "delivery")


@csrf_exempt
@require_POST
def inbound_message(request, provider: str):
    return _handle(request, provider, "inbound")
