"""Polish identifiers checked by their checksums (typed record fields).

- PESEL: 11 digits, a person; weights 1-3-7-9…, and the birth date it encodes must exist.
- NIP: 10 digits (dashes and a ``PL`` prefix allowed), a taxpayer; weights 6-5-7-2-3-4-5-6-7.
- REGON: 9 or 14 digits, a business; weights 8-9-2-3-4-5-6-7 or 2-4-8-5-0-9-7-3-6-1-2-4-8.

Each ``check_*`` returns the identifier in its plain digit form or raises
:class:`~reviewkit.errors.ValidationError` saying what is wrong.
"""

from __future__ import annotations

import datetime as dt
import re

from reviewkit.errors import ValidationError

__all__ = ["check_nip", "check_pesel", "check_regon"]

_SEPARATORS = re.compile(r"[\s\-]")


def _digits(value: str, kind: str, lengths: tuple[int, ...], prefix: str | None = None) -> str:
    text = _SEPARATORS.sub("", value.strip())
    if prefix and text.upper().startswith(prefix):
        text = text[len(prefix) :]
    if not text.isdigit() or not text.isascii() or len(text) not in lengths:
        expected = " or ".join(str(n) for n in lengths)
        raise ValidationError(f"{kind} {value!r} must be {expected} digits")
    return text


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False))


def check_pesel(value: str) -> str:
    """Return the PESEL's 11 digits.

    :raises ValidationError: wrong length, a wrong check digit, or a birth date that does not
        exist.
    """
    digits = _digits(value, "PESEL", (11,))
    check = (10 - _weighted(digits, (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)) % 10) % 10
    if check != int(digits[10]):
        raise ValidationError(f"PESEL {value!r} has a wrong check digit")
    year, month, day = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    century = {0: 1900, 20: 2000, 40: 2100, 60: 2200, 80: 1800}.get(month - month % 20)
    if century is None:
        raise ValidationError(f"PESEL {value!r} encodes no valid month")
    try:
        dt.date(century + year, month % 20, day)
    except ValueError:
        raise ValidationError(f"PESEL {value!r} encodes a birth date that does not exist") from None
    return digits


def check_nip(value: str) -> str:
    """Return the NIP's 10 digits (a ``PL`` prefix and dashes are accepted).

    :raises ValidationError: wrong length or a wrong check digit.
    """
    digits = _digits(value, "NIP", (10,), prefix="PL")
    check = _weighted(digits, (6, 5, 7, 2, 3, 4, 5, 6, 7)) % 11
    if check == 10 or check != int(digits[9]):
        raise ValidationError(f"NIP {value!r} has a wrong check digit")
    return digits


def check_regon(value: str) -> str:
    """Return the REGON's 9 or 14 digits.

    :raises ValidationError: wrong length or a wrong check digit.
    """
    digits = _digits(value, "REGON", (9, 14))
    weights = (
        (8, 9, 2, 3, 4, 5, 6, 7) if len(digits) == 9 else (2, 4, 8, 5, 0, 9, 7, 3, 6, 1, 2, 4, 8)
    )
    check = _weighted(digits, weights) % 11 % 10
    if check != int(digits[-1]):
        raise ValidationError(f"REGON {value!r} has a wrong check digit")
    if len(digits) == 14:
        check_regon(digits[:9])
    return digits
