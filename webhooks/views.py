"""POST /api/webhooks/tribopay/: TriboPay postbacks.

A plain Django view: TriboPay authenticates with a shared secret (`?token=`
or the X-Webhook-Token header), not an API key. The raw payload is stored
first (see webhooks.ingest) and processed by Celery workers, so the answer is
fast; a retried postback gets 200 {"duplicate": true} and changes nothing.
"""

import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from smsgate.api.source_ip import client_ip
from webhooks.services import receive_postback
from webhooks.tribopay import MalformedPostback, given_token, read_body, token_is_valid

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def tribopay_postback(request):
    if not token_is_valid(given_token(request)):
        logger.warning("refused a TriboPay postback with a bad token from %s", client_ip(request))
        return JsonResponse({"detail": "Invalid or missing webhook token."}, status=403)
    try:
        event_id, duplicate = receive_postback(payload=read_body(request.body), source_ip=client_ip(request))
    except MalformedPostback as exc:
        return JsonResponse(exc.errors, status=400)
    return JsonResponse({"received": True, "duplicate": duplicate, "event_id": event_id})
