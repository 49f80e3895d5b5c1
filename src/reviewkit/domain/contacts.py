"""Contact addresses: e-mail syntax and normalisation (email-validator, no DNS)."""

from __future__ import annotations

from functools import cache, lru_cache
from types import ModuleType

from reviewkit.errors import ValidationError

__all__ = ["normalize_email"]


def normalize_email(address: str) -> str:
    """Return *address* checked and normalised as email-validator does (domain lower-cased
    and in Unicode form), with no DNS lookup: deliverability is the mail server's business.

    :raises ValidationError: saying what is wrong with the address.
    """
    address = address.strip()
    try:
        normalized = _fast(address) or _full(address)
    except ValueError as exc:  # email_validator.EmailNotValidError is a ValueError
        raise ValidationError(f"e-mail address {address!r} is not valid: {exc}") from None
    local = normalized.rpartition("@")[0]
    if len(local.encode("utf-8")) > _LOCAL_MAX:  # RFC 5321 4.5.3.1.1: servers may refuse more
        raise ValidationError(
            f"e-mail address {address[:80]!r} is not valid: the part before the @ is "
            f"{len(local.encode('utf-8'))} bytes long; at most {_LOCAL_MAX}"
        )
    return normalized


_LOCAL_MAX = 64


@cache
def _validator() -> tuple[ModuleType, ModuleType]:
    # Imported on first use: email_validator compiles its grammar on import (about 40 ms), a
    # cost `import reviewkit` should not pay for programs that never add a recipient.
    import email_validator
    from email_validator import rfc_constants

    return email_validator, rfc_constants


def _full(address: str) -> str:
    email_validator, _ = _validator()
    result = email_validator.validate_email(
        address, check_deliverability=False, allow_smtputf8=True
    )
    return str(result.normalized)


def _fast(address: str) -> str | None:
    """The common case, a plain ASCII local part: check it with email-validator's own
    dot-atom grammar and the domain once per domain (the domain check is ~90 % of the cost,
    and an import has thousands of addresses at a handful of domains). ``None`` when the
    address needs the full check."""
    _, rfc = _validator()
    local, at, domain = address.rpartition("@")
    if (
        not at
        or len(local) > rfc.LOCAL_PART_MAX_LENGTH
        or not rfc.DOT_ATOM_TEXT.match(local)
        or local.lower() in rfc.CASE_INSENSITIVE_MAILBOX_NAMES  # normalised to lower case
    ):
        return None
    normalized = f"{local}@{_domain(domain)}"
    return normalized if len(normalized) <= rfc.EMAIL_MAX_LENGTH else None


@lru_cache(maxsize=1024)
def _domain(domain: str) -> str:
    email_validator, _ = _validator()
    result = email_validator.validate_email(
        f"a@{domain}", check_deliverability=False, allow_smtputf8=True
    )
    return str(result.domain)
