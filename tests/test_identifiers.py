"""Polish identifiers by checksum, and e-mail normalisation."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.domain.contacts import normalize_email
from reviewkit.domain.identifiers import check_nip, check_pesel, check_regon


@pytest.mark.parametrize(
    ("check", "value", "digits"),
    [
        (check_pesel, "44051401359", "44051401359"),
        (check_pesel, "02270803624", "02270803624"),  # born 2002: month + 20
        (check_nip, "PL 526-025-02-74", "5260250274"),
        (check_nip, "1234563218", "1234563218"),
        (check_regon, "123456785", "123456785"),
        (check_regon, "12345678512347", "12345678512347"),
    ],
)
def test_valid_identifiers(check: object, value: str, digits: str) -> None:
    """Valid identifiers come back as plain digits, however they were written."""
    assert check(value) == digits  # type: ignore[operator]


@pytest.mark.parametrize(
    ("check", "value", "reason"),
    [
        (check_pesel, "44051401358", "check digit"),
        (check_pesel, "4405140135", "11 digits"),
        (check_pesel, "44023101353", "does not exist"),  # 31 February 1944
        (check_nip, "5260250275", "check digit"),
        (check_nip, "52602502", "10 digits"),
        (check_regon, "123456786", "check digit"),
        (check_regon, "12345678", "9 or 14 digits"),
        (check_pesel, "\uff14\uff14051401359", "11 digits"),  # full-width digits
    ],
)
def test_invalid_identifiers_say_why(check: object, value: str, reason: str) -> None:
    """A wrong identifier is refused with what is wrong."""
    with pytest.raises(rk.ValidationError, match=reason):
        check(value)  # type: ignore[operator]


@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.integers(0, 8), st.integers(1, 9))
def test_nip_detects_any_single_digit_change(body: str, position: int, delta: int) -> None:
    """A NIP with one digit changed never passes."""
    check = sum(int(d) * w for d, w in zip(body, (6, 5, 7, 2, 3, 4, 5, 6, 7), strict=True)) % 11
    if check == 10:
        return  # no valid NIP has this body
    nip = body + str(check)
    assert check_nip(nip) == nip
    changed = nip[:position] + str((int(nip[position]) + delta) % 10) + nip[position + 1 :]
    with pytest.raises(rk.ValidationError):
        check_nip(changed)


@given(st.text(max_size=30))
def test_identifier_checks_never_crash(value: str) -> None:
    """Any text is either accepted or refused with a ValidationError."""
    for check in (check_pesel, check_nip, check_regon):
        with contextlib.suppress(rk.ValidationError):
            check(value)


def test_email_normalisation() -> None:
    """Addresses are checked without DNS and their domain normalised; bad ones say why."""
    assert normalize_email(" Ala@Example.COM ") == "Ala@example.com"
    assert normalize_email("łucja@żółw.pl") == "łucja@żółw.pl"
    with pytest.raises(rk.ValidationError, match="not valid"):
        normalize_email("ala@@example.com")
    with pytest.raises(rk.ValidationError, match="not valid"):
        normalize_email("ala example.com")


def test_adding_a_bad_email_names_the_recipient(
    service: rk.CampaignService, actor: rk.Actor
) -> None:
    """A malformed address in a batch is refused by position; nothing is added."""
    service.create(actor, name="c")
    with pytest.raises(rk.ValidationError, match=r"recipient #2: e-mail address 'not-an-address'"):
        service.add_recipients(
            actor, "c", [rk.Recipient(email="a@example.com"), rk.Recipient(email="not-an-address")]
        )
    assert sum(service.counts(actor, "c").values()) == 0


def _library(address: str) -> str | None:
    import email_validator

    try:
        result = email_validator.validate_email(
            address.strip(), check_deliverability=False, allow_smtputf8=True
        )
    except email_validator.EmailNotValidError:
        return None
    return str(result.normalized)


def _ours(address: str) -> str | None:
    try:
        return normalize_email(address)
    except rk.ValidationError:
        return None


local_parts = st.one_of(
    st.from_regex(r"[A-Za-z0-9._%+!#-]{1,70}", fullmatch=True),
    st.sampled_from(["Postmaster", "ABUSE", "a..b", ".a", "a.", '"quoted"', "żaneta"]),
    st.text(max_size=10),
)
domains = st.one_of(
    st.sampled_from(
        [
            "example.com",
            "EXAMPLE.com",
            "żółw.pl",
            "localhost",
            "x.invalid",
            "a_b.com",
            "-a.com",
            "com",
            "1.2.3.4",
            "[127.0.0.1]",
        ]
    ),
    st.text(max_size=12),
)


@given(st.one_of(st.emails(), st.builds(lambda lp, d: f"{lp}@{d}", local_parts, domains)))
def test_email_normalisation_agrees_with_email_validator(address: str) -> None:
    """reviewkit's cached path accepts, refuses and normalises exactly as email-validator."""
    assert _ours(address) == _library(address)
