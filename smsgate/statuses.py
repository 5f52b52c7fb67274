"""Message statuses: the forward-only state machine and the legacy numeric codes.

Statuses are ranked; an update is applied only if it moves the message
forward, so a late `sent` receipt never overwrites `delivered`. Terminal
statuses never change again.
"""

from django.db import models


class Status(models.TextChoices):
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


_RANK = {
    Status.SCHEDULED: 0,
    Status.QUEUED: 1,
    Status.SENDING: 2,
    Status.SENT: 3,
    Status.DELIVERED: 4,
    Status.UNDELIVERED: 4,
    Status.FAILED: 4,
    Status.EXPIRED: 4,
    Status.CANCELLED: 4,
}

TERMINAL = frozenset(s for s, rank in _RANK.items() if rank == 4)
# Messages the dispatcher may still pick up.
PENDING = (Status.SCHEDULED, Status.QUEUED)

# The program-messages system's numeric codes, shown beside the status.
LEGACY_CODES = {
    Status.SCHEDULED: 0,
    Status.QUEUED: 0,
    Status.SENDING: 3,
    Status.SENT: 2,
    Status.DELIVERED: 1,
    Status.UNDELIVERED: 4,
    Status.FAILED: 4,
    Status.CANCELLED: 4,
    Status.EXPIRED: 5,
}


def can_move(current: str, new: str) -> bool:
    """True if `new` is a forward move from `current`."""
    if current in TERMINAL or current == new:
        return False
    return _RANK[Status(new)] > _RANK[Status(current)]


def legacy_code(status: str) -> int:
    return LEGACY_CODES[Status(status)]
