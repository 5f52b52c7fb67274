"""In-memory backend for tests: keeps an outbox and can be told to fail.

State is per process, so use it only where sender and assertions share one.
"""

import uuid
from collections import deque

from providers.base import Provider, ProviderError, SendResult


class MemoryProvider(Provider):
    name = "memory"
    supports_mms = True
    outbox: list = []
    _failures: deque = deque()

    @classmethod
    def reset(cls) -> None:
        cls.outbox.clear()
        cls._failures.clear()

    @classmethod
    def fail_next(cls, *errors: ProviderError) -> None:
        """Make the next sends raise these errors, one each, in order."""
        cls._failures.extend(errors)

    def send(self, message) -> SendResult:
        if self._failures:
            raise self._failures.popleft()
        provider_message_id = f"mem-{uuid.uuid4().hex}"
        sent = {"id": provider_message_id, "to": message.to, "body": message.body}
        if media := getattr(message, "media_urls", None):
            sent["media_urls"] = list(media)
        self.outbox.append(sent)
        return SendResult(provider_message_id=provider_message_id, status="sent", segments=message.segments)
