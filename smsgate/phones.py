"""Phone number normalisation to E.164 with phonenumbers."""

import re

import phonenumbers
from django.core.exceptions import ValidationError

# What a number may be written with: one optional leading +, digits, and spaces, dots, dashes or brackets.
# Refused, rather than silently changed: extensions ("ext 5", "x5"; an SMS cannot reach one), tel: URIs,
# a doubled "+", letters (vanity numbers).
PHONE_PATTERN = r"^\+?[0-9 ().\-]{1,31}$"
_WRITTEN_NUMBER = re.compile(PHONE_PATTERN, re.ASCII)
NOT_WRITTEN_AS_A_NUMBER = ("Enter a valid phone number alone: digits, an optional leading +, spaces, dots, dashes or "
                           "brackets (no extension, no tel: prefix), e.g. +5511987654321.")


class InvalidPhoneNumber(ValueError):
    pass


class E164(str):
    """A number smsgate has normalised and validated: normalize_phone's result, or one read back from a column
    that only ever holds such numbers (a campaign's recipients). The submit step does not parse it again."""

    __slots__ = ()


def normalize_phone(raw: str, region: str) -> E164:
    """Return `raw` as E.164, reading numbers without +country in `region`.

    Raises InvalidPhoneNumber for anything that is not a valid number, or not written as one (see PHONE_PATTERN).
    """
    if not _WRITTEN_NUMBER.match(str(raw).strip()):
        raise InvalidPhoneNumber(NOT_WRITTEN_AS_A_NUMBER)
    try:
        number = phonenumbers.parse(str(raw), region.upper() or None)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("Enter a valid phone number, e.g. +5511987654321.") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber("This is not a valid phone number for its country.")
    return E164(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def validated_phone(raw: str, region: str) -> E164:
    """normalize_phone, with a bad number as a ValidationError on the `phone` field."""
    try:
        return normalize_phone(raw, region)
    except InvalidPhoneNumber as exc:
        raise ValidationError({"phone": [str(exc)]}, code="invalid") from None


def phone_time_zones(e164: str) -> tuple[str, ...]:
    """The time zones a number may be in (used for quiet hours)."""
    from phonenumbers import timezone as phone_timezone

    return tuple(phone_timezone.time_zones_for_number(phonenumbers.parse(e164)))
