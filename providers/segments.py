"""How many SMS parts a body takes, and in which encoding.

GSM-7 (3GPP TS 23.038) packs 160 septets in one SMS and 153 per part once
concatenated; characters of the extension table (such as `€` or `{`) take two
septets. Anything outside GSM-7 forces UCS-2: 70 UTF-16 units in one SMS, 67
per part, and characters outside the BMP (most emoji) take two units.

Smart encoding (`smart_encode`) replaces typographic look-alikes (curly
quotes, long dashes, Unicode spaces, the ellipsis) with their GSM-7
equivalents, so that one pasted "’" does not double a message's cost.
"""

import re
import unicodedata
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


# The look-alikes smart encoding replaces, and nothing else. Each has a plain GSM-7 equivalent a reader
# takes for the same text. Characters with no such equivalent (ç, ł, emoji, Cyrillic, bullets, fullwidth
# forms, tabs) are not listed: a message holding any of them is left as written (docs/PROVIDERS.md).
LOOKALIKES: dict[str, str] = {
    # Single quotes, apostrophes and primes -> '
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u2035": "'",
    "\u02bc": "'", "\u00b4": "'", "\u0060": "'",
    # Double quotes, double primes and guillemets -> "
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u2036": '"',
    "\u00ab": '"', "\u00bb": '"',
    # Hyphens, dashes and the minus sign -> -
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    # No-break and typographic spaces -> a space
    "\u00a0": " ", "\u2000": " ", "\u2001": " ", "\u2002": " ", "\u2003": " ", "\u2004": " ",
    "\u2005": " ", "\u2006": " ", "\u2007": " ", "\u2008": " ", "\u2009": " ", "\u200a": " ",
    "\u202f": " ", "\u205f": " ", "\u3000": " ",
    # Invisible: zero-width space, word joiner, zero-width no-break space (BOM), soft hyphen -> removed
    "\u200b": "", "\u2060": "", "\ufeff": "", "\u00ad": "",
    # Horizontal ellipsis -> three full stops
    "\u2026": "...",
}
_LOOKALIKE_TABLE = str.maketrans(LOOKALIKES)


@dataclass(frozen=True)
class SmartEncoded:
    body: str  # the text to send: replaced, or as written
    info: SegmentInfo  # the segments of `body`
    saved: int  # segments saved by the replacement; 0 when the text was left as written


def smart_encode(body: str, *, max_chars: int | None = None) -> SmartEncoded:
    """`body` with its look-alikes replaced (see LOOKALIKES), when that makes it GSM-7 in fewer segments.

    All or nothing: if a character without a GSM-7 equivalent remains, or the
    replaced text would take as many segments (or be longer than `max_chars`),
    the text is left exactly as written. The text is composed first (Unicode
    NFC: an "e" followed by a combining acute is "é"), which changes how it is
    stored, never how it reads.
    """
    info = count_segments(body)
    if info.encoding == "gsm7":
        return SmartEncoded(body, info, 0)
    candidate = unicodedata.normalize("NFC", body).translate(_LOOKALIKE_TABLE)
    replaced = count_segments(candidate)
    if (replaced.encoding != "gsm7" or replaced.segments >= info.segments
            or (max_chars is not None and len(candidate) > max_chars)):
        return SmartEncoded(body, info, 0)
    return SmartEncoded(candidate, replaced, info.segments - replaced.segments)
