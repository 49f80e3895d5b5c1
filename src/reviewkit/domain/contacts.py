"""Contact addresses: e-mail syntax and normalisation (email-validator, no DNS)."""

from __future__ import annotations

from functools import lru_cache

from reviewkit.errors import ValidationError

__all__ = ["normalize_email"]


def normalize_email(address: str) -> str:
    """Return *address* checked and normalised (domain lower-cased and in Unicode form).

    No DNS lookup is made: deliverability is the mail server's business.

    :raises ValidationError: saying what is wrong with the address.
    """
    try:
        return _normalize(address.strip())
    except ValueError as exc:  # email_validator.EmailNotValidError is a ValueError
        raise ValidationError(f"e-mail address {address!r} is not valid: {exc}") from None


@lru_cache(maxsize=4096)
def _normalize(address: str) -> str:
    # Imported here: email_validator compiles its grammar on import (about 40 ms), a cost
    # `import reviewkit` should not pay for programs that never add a recipient.
    import email_validator

    result = email_validator.validate_email(
        address, check_deliverability=False, allow_smtputf8=True
    )
    return str(result.normalized)
