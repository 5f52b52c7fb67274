"""Quiet hours: non-urgent messages wait until the recipient's local quiet hours end.

The window (e.g. "21:00-08:00", which wraps midnight) is read in every time
zone the number may be in (phonenumbers); a number of a country with several
zones is quiet when it is quiet in any of them, so nobody is woken up.
"""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError

from smsgate.phones import phone_time_zones

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
# MessageType.OTP and .TRANSACTIONAL, by value: models validates windows with parse_window, so this module sits
# below models and imports none (tests/test_routing.py holds the two in step).
URGENT_TYPES = frozenset({"otp", "transactional"})


def parse_window(text: str) -> tuple[time, time] | None:
    """"21:00-08:00" -> (21:00, 08:00); "" -> None. Raises ValidationError if malformed."""
    text = (text or "").strip()
    if not text:
        return None
    match = _WINDOW.match(text)
    if not match or match.group(1, 2) == match.group(3, 4):
        raise ValidationError(f"Quiet hours must look like 21:00-08:00, not {text!r}.")
    h1, m1, h2, m2 = map(int, match.groups())
    return time(h1, m1), time(h2, m2)


def _quiet_in_zone(moment: datetime, zone: ZoneInfo, window: tuple[time, time]) -> datetime | None:
    """When quiet hours end in `zone`, if `moment` falls inside them there; else None."""
    start, end = window
    local = moment.astimezone(zone)
    now = local.time()
    inside = start <= now < end if start < end else (now >= start or now < end)
    if not inside:
        return None
    end_day = local.date() if now < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=zone)


def _zones(phone: str) -> list[ZoneInfo]:
    zones = []
    for name in phone_time_zones(phone):
        try:
            zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue  # phonenumbers says "Etc/Unknown" when it cannot tell
    return zones


def quiet_until(*, phone: str, message_type: str, window_text: str, now: datetime) -> datetime | None:
    """The time a message may go out if it must wait for quiet hours to end, else None.

    Only non-urgent messages (marketing) wait; one-time codes and transactional
    messages always go out at once.
    """
    window = parse_window(window_text)
    if window is None or message_type in URGENT_TYPES:
        return None
    zones = _zones(phone)
    moment = now
    for _ in range(len(zones) + 1):  # moving past one zone's quiet hours may land in another's
        ends = [end for zone in zones if (end := _quiet_in_zone(moment, zone, window))]
        if not ends:
            return moment if moment != now else None
        moment = max(ends)
    return moment


def window_for(tenant) -> str:
    return tenant.quiet_hours or settings.SMS_QUIET_HOURS
