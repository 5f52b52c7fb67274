"""Carrier callbacks: POST /api/v1/sms/delivery/<provider> and /api/v1/sms/inbound/<provider>.

Plain Django views: carriers post form or JSON bodies, not API keys. Each
backend authenticates its own callbacks (signature or secret); a forged one
gets 403 and changes nothing. Unknown messages still get 200, so carriers
stop retrying.
"""

import logging

from django.http import Http404, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from providers.base import WebhookAuthError
from providers.registry import UnknownProvider, get_provider
from smsgate.models import Tenant
from smsgate.tracking import record_delivery, record_inbound

logger = logging.getLogger(__name__)


def _provider_or_404(request, name: str):
    """The backend that verifies this callback: a tenant's own account when the URL names the tenant."""
    tenant = None
    if slug := request.GET.get("tenant"):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise Http404("unknown tenant")
    try:
        return get_provider(name, tenant)
    except UnknownProvider:
        raise Http404("unknown provider") from None


def _handle(request, provider: str, kind: str):
    backend = _provider_or_404(request, provider)
    parse, record = {
        "delivery": (backend.parse_delivery, record_delivery),
        "inbound": (backend.parse_inbound, record_inbound),
    }[kind]
    try:
        items = parse(request)
    except WebhookAuthError as exc:
        logger.warning("rejected %s %s callback from %s: %s", provider, kind, request.META.get("REMOTE_ADDR"), exc)
        return HttpResponseForbidden("invalid signature")
    except NotImplementedError:
        raise Http404(f"{provider} has no {kind} callbacks") from None
    for item in items:
        record(provider, item)
    return backend.webhook_response(kind)


@csrf_exempt
@require_POST
def delivery_receipt(request, provider: str):
    return _handle(request, provider, "delivery")


@csrf_exempt
@require_POST
def inbound_message(request, provider: str):
    return _handle(request, provider, "inbound")
