"""Development backend: writes each SMS to the log instead of sending it."""

import logging
import uuid

from providers.base import Provider, SendResult

logger = logging.getLogger(__name__)


class ConsoleProvider(Provider):
    name = "console"

    def send(self, message) -> SendResult:
        logger.info("SMS to %s (%s segment(s)): %s", message.to, message.segments, message.body)
        return SendResult(provider_message_id=f"console-{uuid.uuid4().hex}", status="sent", segments=message.segments)
