"""SMS text rules: phone numbers in E.164, and how many segments a text costs.

A text that fits the GSM 03.38 alphabet (with its extension table, whose characters count
twice) costs one segment up to 160 characters, and 153 per segment beyond that. One
character outside it — Polish ą, ę, ł, ś, ż, an emoji — switches the whole text to UCS-2:
70 characters, then 67 per segment (characters beyond the Basic Multilingual Plane count
twice).
"""

from __future__ import annotations

import enum
import math
import re

import attrs

from reviewkit.errors import ValidationError

__all__ = ["SmsEncoding", "SmsSegments", "normalize_phone", "sms_segments"]

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


class SmsEncoding(enum.StrEnum):
    """How a text is carried."""

    GSM7 = "GSM-7"
    """The GSM 03.38 alphabet: 160 characters in one segment, 153 per segment when split."""
    UCS2 = "UCS-2"
    """Any Unicode: 70 characters in one segment, 67 per segment when split."""


@attrs.frozen
class SmsSegments:
    """What sending a text costs."""

    encoding: SmsEncoding
    units: int
    """Length in the encoding's units (extension characters and astral characters count 2)."""
    segments: int
    per_segment: int
    """How many units each segment carries at this length."""

    @property
    def remaining(self) -> int:
        """Units left in the last segment before another one is needed."""
        return self.segments * self.per_segment - self.units


def sms_segments(text: str) -> SmsSegments:
    """Count the segments *text* costs as one SMS."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in text):
        units = sum(2 if c in _GSM_EXTENSION else 1 for c in text)
        single, multi, encoding = 160, 153, SmsEncoding.GSM7
    else:
        units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
        single, multi, encoding = 70, 67, SmsEncoding.UCS2
    if units <= single:
        return SmsSegments(encoding, units, 1, single)
    return SmsSegments(encoding, units, math.ceil(units / multi), multi)


_PHONE_TEXT = re.compile(r"\(?\+?[0-9 ().\-/]+")


def _unreadable(exc: Exception, region: str | None) -> str:
    """Why a number could not be read, in the terms of someone typing one (not the phone
    library's)."""
    import phonenumbers

    kind = getattr(exc, "error_type", None)
    errors = phonenumbers.NumberParseException
    if kind == errors.INVALID_COUNTRY_CODE:
        if "plus" in str(exc).lower():
            return "has a country code that does not exist"
        if region is None:
            return (
                "has no country code: write it with + and the country code (+48 600 123 456), "
                "or give a default region"
            )
        return f"cannot be read in region {region!r}, which is not a region code (PL, DE, …)"
    if kind in (errors.TOO_SHORT_NSN, errors.TOO_SHORT_AFTER_IDD):
        return "is too short to be a phone number"
    if kind == errors.TOO_LONG:
        return "is too long to be a phone number"
    return "is not a phone number"


def normalize_phone(number: str, default_region: str | None = None, *, mobile: bool = False) -> str:
    """Return *number* in E.164 (``+48500100200``), read with *default_region* when it has
    no country code.

    :param mobile: require a number that can receive SMS (mobile, or a number plan that
        does not tell mobile from fixed line); landlines, toll-free and premium-rate numbers
        are refused.
    :raises ValidationError: when it does not parse, is not a valid number, holds anything
        but digits, separators and one leading ``+``, or is not mobile when asked.
    """
    # Imported here: phonenumbers' metadata costs about 30 ms to import, needed only here.
    import phonenumbers

    if not _PHONE_TEXT.fullmatch(number.strip()):
        raise ValidationError(
            f"phone number {number!r} may hold only digits, spaces, - . ( ) / and one leading +"
        )
    region = default_region.upper() if default_region else None
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"phone number {number!r} {_unreadable(exc, region)}") from None
    if not phonenumbers.is_valid_number(parsed):
        where = f" for region {region}" if region else ""
        raise ValidationError(f"phone number {number!r} is not a valid number{where}")
    if mobile:
        kind = phonenumbers.number_type(parsed)
        sms_capable = (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
        if kind not in sms_capable:
            names = {v: k.lower().replace("_", " ") for k, v in vars(
                phonenumbers.PhoneNumberType).items() if k.isupper()}  # fmt: skip
            raise ValidationError(
                f"phone number {number!r} is a {names.get(kind, 'non-mobile')} number; an SMS "
                "needs a mobile number"
            )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
