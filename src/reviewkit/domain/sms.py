"""SMS text rules: phone numbers in E.164, and how many segments a text costs.

A text that fits the GSM 03.38 alphabet (with its extension table, whose characters count
twice) costs one segment up to 160 characters, and 153 per segment beyond that. One
character outside it — Polish ą, ę, ł, ś, ż, an emoji — switches the whole text to UCS-2:
70 characters, then 67 per segment (characters beyond the Basic Multilingual Plane count
twice).
"""

from __future__ import annotations

import enum
import functools
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


# -- the fast path ------------------------------------------------------------------------
#
# Reading a phone number with the phonenumbers library costs about 40 µs, most of it in its
# general parser and in matching the number against each type's pattern one by one. Most
# numbers in a customer file are written the plain way — digits in groups, with or without
# +48 — in a country whose numbers have no trunk prefix to strip. For those, the steps the
# library would take are few and fixed, so they are done here with the library's own
# metadata and patterns (compiled once). Anything else, and every number that would be
# refused, goes to the library, which then gives the answer and the error. A property test
# holds this path equal to the library on generated numbers of many countries.

_PLAIN_NUMBER = re.compile(r"\+?[0-9]+(?:[ .\-/][0-9]+)*")
_SEPARATORS = re.compile(r"[ .\-/]")
_TYPE_DESCS = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail",
)  # fmt: skip


@attrs.frozen
class _Desc:
    pattern: re.Pattern[str] | None
    lengths: frozenset[int]

    def matches(self, national: str) -> bool:
        if self.pattern is None or (self.lengths and len(national) not in self.lengths):
            return False
        return self.pattern.fullmatch(national) is not None


@attrs.frozen
class _Country:
    """What telling a plain number of one calling code needs: its type patterns."""

    general: _Desc
    others: tuple[_Desc, ...]  # premium rate … voicemail: valid, never mobile
    fixed: _Desc
    mobile: _Desc
    same_fixed_and_mobile: bool
    idd: re.Pattern[str] | None  # the international prefix, dialled before a calling code

    def valid(self, national: str) -> bool:
        """Whether the library would call the number valid: of some type, whichever (the
        commonest, mobile, tried first)."""
        if not self.general.matches(national):
            return False
        if not self.same_fixed_and_mobile and self.mobile.matches(national):
            return True
        if self.fixed.matches(national):
            return True
        return any(desc.matches(national) for desc in self.others)

    def kind(self, national: str) -> str | None:
        """``"mobile"``, ``"fixed or mobile"``, ``"other"``, or ``None`` (not valid), as the
        library's number type would say."""
        if not self.general.matches(national):
            return None
        if any(desc.matches(national) for desc in self.others):
            return "other"
        if self.fixed.matches(national):
            if self.same_fixed_and_mobile or self.mobile.matches(national):
                return "fixed or mobile"
            return "fixed"
        if not self.same_fixed_and_mobile and self.mobile.matches(national):
            return "mobile"
        return None


@functools.cache
def _country(code: int) -> _Country | None:
    """The plan for calling code *code*, or ``None`` when the fast path does not apply:
    the code is shared by several regions, or its numbers may carry a trunk prefix."""
    from phonenumbers import PhoneMetadata
    from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

    regions = COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    plan = None
    metadata = PhoneMetadata.metadata_for_region(regions[0]) if len(regions) == 1 else None
    if metadata is not None and not metadata.national_prefix_for_parsing:

        def desc(name: str) -> _Desc:
            found = getattr(metadata, name, None)
            pattern = getattr(found, "national_number_pattern", None)
            lengths = frozenset(getattr(found, "possible_length", None) or ())
            return _Desc(re.compile(pattern) if pattern else None, lengths)

        plan = _Country(
            general=desc("general_desc"),
            others=tuple(desc(name) for name in _TYPE_DESCS),
            fixed=desc("fixed_line"),
            mobile=desc("mobile"),
            same_fixed_and_mobile=bool(metadata.same_mobile_and_fixed_line_pattern),
            idd=re.compile(metadata.international_prefix)
            if metadata.international_prefix
            else None,
        )
    return plan


def _fast_e164(number: str, region: str | None, mobile: bool) -> str | None:
    """*number* in E.164 when it is written the plain way and valid (mobile, if asked);
    ``None`` to leave it to the library."""
    text = number.strip()
    if not _PLAIN_NUMBER.fullmatch(text):
        return None
    digits = _SEPARATORS.sub("", text)
    if digits.startswith("+"):
        digits = digits[1:]
        codes = _calling_codes()
        code = next((int(digits[:n]) for n in (1, 2, 3) if digits[:n] in codes), None)
        if code is None:
            return None
        national = digits[len(str(code)) :]
    else:
        if region is None:
            return None
        code = _region_code(region)
        # A leading 0 (a trunk or international prefix) or the calling code without its +
        # take the library's rules.
        if not code or digits.startswith(("0", str(code))):
            return None
        national = digits
    plan = _country(code)
    if plan is None or national.startswith("0"):
        return None
    if not text.startswith("+") and plan.idd is not None and plan.idd.match(national):
        return None  # dialled with the international prefix: the library's rules
    if mobile:
        kind = plan.kind(national)
        if kind not in ("mobile", "fixed or mobile"):
            return None
    elif not plan.valid(national):
        return None
    return f"+{code}{national}"


@functools.cache
def _calling_codes() -> frozenset[str]:
    """Every calling code the library knows, as digits."""
    from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

    return frozenset(str(code) for code in COUNTRY_CODE_TO_REGION_CODE)


@functools.cache
def _region_code(region: str) -> int:
    """The calling code of *region* (``PL`` → 48), 0 for a region the library does not know."""
    from phonenumbers.phonenumberutil import country_code_for_region

    return int(country_code_for_region(region))


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
    if not _PHONE_TEXT.fullmatch(number.strip()):
        raise ValidationError(
            f"phone number {number!r} may hold only digits, spaces, - . ( ) / and one leading +"
        )
    region = default_region.upper() if default_region else None
    fast = _fast_e164(number, region, mobile)
    if fast is not None:
        return fast
    return _library_e164(number, region, mobile)


def _library_e164(number: str, region: str | None, mobile: bool) -> str:
    """*number* in E.164 read by the phonenumbers library (the reference for the fast path).

    :raises ValidationError: as :func:`normalize_phone` says.
    """
    # Imported here: phonenumbers' metadata costs about 30 ms to import, needed only here.
    import phonenumbers

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
