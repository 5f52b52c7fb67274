"""Phone number normalisation to E.164 with phonenumbers."""

import phonenumbers
from django.core.exceptions import ValidationError


class InvalidPhoneNumber(ValueError):
    pass


def normalize_phone(raw: str, region: str) -> str:
    """Return `raw` as E.164, reading numbers without +country in `region`.

    Raises InvalidPhoneNumber for anything that is not a valid number.
    """
    try:
        number = phonenumbers.parse(str(raw), region.upper() or None)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("Enter a valid phone number, e.g. +5511987654321.") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber("This is not a valid phone number for its country.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validated_phone(raw: str, region: str) -> str:
    """normalize_phone, with a bad number as a ValidationError on the `phone` field."""
    try:
        return normalize_phone(raw, region)
    except InvalidPhoneNumber as exc:
        raise ValidationError({"phone": [str(exc)]}, code="invalid") from None


def phone_time_zones(e164: str) -> tuple[str, ...]:
    """The time zones a number may be in (used for quiet hours)."""
    from phonenumbers import timezone as phone_timezone

    return tuple(phone_timezone.time_zones_for_number(phonenumbers.parse(e164)))
