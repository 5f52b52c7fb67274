"""Development backend: writes each SMS to the log instead of sending it, and plays the carrier's part.

A few seconds after each send it hands itself a delivery receipt, which goes
through smsgate.tracking.receipts exactly as a carrier's callback does (as the
platform's account), so delivered and undelivered messages, receipts and
their errors can be seen locally. The recipient's last digits choose the outcome:

- ending in 0000: sent, then an `undelivered` receipt (error SIM-UNREACHABLE);
- ending in 0001: refused at once, a permanent error (the message fails, no retry);
- any other number: sent, then a `delivered` receipt.

Replies (STOP, START, anything else) are simulated with `manage.py simulate_inbound`.
"""

import logging
import uuid

from celery import current_app

from providers.base import PermanentProviderError, Provider, SendResult

logger = logging.getLogger(__name__)

RECEIPT_DELAY_SECONDS = 2
UNDELIVERED_SUFFIX = "0000"
REFUSED_SUFFIX = "0001"
# The core records the receipt (smsgate.sending.tasks): providers import no core, so it is sent by name.
RECEIPT_TASK = "providers.console_receipt"
UNDELIVERED_ERROR = ("SIM-UNREACHABLE", "Simulated: the handset could not be reached")


class ConsoleProvider(Provider):
    name = "console"
    supports_mms = True  # logs the media URLs with the text

    def send(self, message) -> SendResult:
        if message.to.endswith(REFUSED_SUFFIX):
            logger.info("SMS to %s refused (simulated: numbers ending in %s)", message.to, REFUSED_SUFFIX)
            raise PermanentProviderError("Simulated: the number does not exist", code="SIM-INVALID")
        if media := getattr(message, "media_urls", None):
            logger.info("MMS to %s with %s media (%s): %s", message.to, len(media), " ".join(media), message.body)
        else:
            logger.info("SMS to %s (%s segment(s)): %s", message.to, message.segments, message.body)
        provider_message_id = f"console-{uuid.uuid4().hex}"
        if message.to.endswith(UNDELIVERED_SUFFIX):
            receipt = ("undelivered", *UNDELIVERED_ERROR)
        else:
            receipt = ("delivered", "", "")
        _send_receipt_later((provider_message_id, *receipt))
        return SendResult(provider_message_id=provider_message_id, status="sent", segments=message.segments)


def _send_receipt_later(args: tuple) -> None:
    task = current_app.tasks.get(RECEIPT_TASK)  # registered where the core is loaded: runs eagerly in tests
    if task is None:
        current_app.send_task(RECEIPT_TASK, args, countdown=RECEIPT_DELAY_SECONDS)
    else:
        task.apply_async(args, countdown=RECEIPT_DELAY_SECONDS)
