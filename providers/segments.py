"""How many SMS parts a body takes, and in which encoding.

GSM-7 (3GPP TS 23.038) packs 160 septets in one SMS and 153 per part once
concatenated; characters of the extension table (such as `€` or `{`) take two
septets. Anything outside GSM-7 forces UCS-2: 70 UTF-16 units in one SMS, 67
per part, and characters outside the BMP (most emoji) take two units.
"""

import re
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "gsm7" or "ucs2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


# Matching with compiled character classes runs in C: campaigns count 100k bodies at once.
_GSM7_ONLY = re.compile("[" + re.escape("".join(sorted(GSM7_BASIC | GSM7_EXTENSION))) + "]*")
_GSM7_EXTENDED = re.compile("[" + re.escape("".join(sorted(GSM7_EXTENSION))) + "]")


def _gsm7_septets(body: str) -> int | None:
    if not _GSM7_ONLY.fullmatch(body):
        return None
    return len(body) + len(_GSM7_EXTENDED.findall(body))


def _parts(units: int, single: int, multi: int) -> int:
    if units <= single:
        return 1
    return -(-units // multi)


def count_segments(body: str) -> SegmentInfo:
    septets = _gsm7_septets(body)
    if septets is not None:
        return SegmentInfo("gsm7", septets, _parts(septets, 160, 153))
    units = len(body.encode("utf-16-le")) // 2
    return SegmentInfo("ucs2", units, _parts(units, 70, 67))
