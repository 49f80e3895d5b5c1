"""Addresses and numbers that cannot work are refused where they come in, with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.domain.contacts import normalize_email
from reviewkit.domain.sms import normalize_phone


@pytest.mark.parametrize("length", [65, 200])
def test_a_local_part_over_64_bytes_is_refused(length: int) -> None:
    """RFC 5321 allows 64 octets before the @; more is refused with the count."""
    with pytest.raises(rk.ValidationError, match=f"{length} bytes long; at most 64"):
        normalize_email("a" * length + "@example.com")
    assert normalize_email("a" * 64 + "@example.com") == "a" * 64 + "@example.com"


def test_a_multibyte_local_part_counts_bytes() -> None:
    """33 two-byte letters are 66 bytes: too long, though only 33 characters."""
    with pytest.raises(rk.ValidationError, match="66 bytes"):
        normalize_email("ł" * 33 + "@example.com")


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("+48 22 123 45 67", "fixed line"),
        ("+48 800 123 456", "toll free"),
        ("+48 701 234 567", "premium rate"),
    ],
)
def test_an_sms_campaign_refuses_numbers_that_cannot_take_an_sms(number: str, why: str) -> None:
    """Landline, toll-free and premium-rate numbers are refused for SMS, kept for e-mail."""
    service = rk.CampaignService(rk.InMemoryStore(), rk.SystemClock())
    me = rk.Actor.system()
    service.create(me, name="sms", channel=rk.Channel.SMS, default_region="PL")
    service.create(me, name="mail", default_region="PL")
    with pytest.raises(rk.ValidationError, match=f"is a {why} number; an SMS needs a mobile"):
        service.add_recipients(me, "sms", [rk.Recipient(phone=number)])
    added = service.add_recipients(me, "mail", [rk.Recipient(email="a@example.com", phone=number)])
    assert added.added == 1
    assert normalize_phone("+48 500 100 200", mobile=True) == "+48500100200"


@given(
    st.text(alphabet="0123456789 -", min_size=6, max_size=12),
    st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=3),
    st.booleans(),
)
def test_letters_or_a_second_plus_are_never_a_phone_number(
    digits: str, letters: str, plus: bool
) -> None:
    """Whatever the digits, a letter anywhere or a doubled + is refused, not guessed at."""
    with pytest.raises(rk.ValidationError):
        normalize_phone(f"+48{digits}{letters}", "PL")
    if plus:
        with pytest.raises(rk.ValidationError, match="one leading"):
            normalize_phone(f"++48{digits}", "PL")


@given(text=st.text(max_size=12))
def test_yes_no_is_one_vocabulary_for_every_door(text: str) -> None:
    """The importer's consent columns and the command line read yes/no with one function:
    a yes word, a no word, empty (unknown), or a clear error — nothing else."""
    from reviewkit.domain.consent import NO_WORDS, YES_WORDS, parse_yes_no

    word = text.strip().lower()
    if word and word not in YES_WORDS | NO_WORDS:
        with pytest.raises(rk.ValidationError, match="is not yes/no"):
            parse_yes_no(text)
        return
    answer = parse_yes_no(text)
    if not word:
        assert answer is None
    else:
        assert answer is (word in YES_WORDS)


def test_holiday_calendars_and_link_keys_are_read_by_the_domain() -> None:
    """The command line parses nothing itself: the domain reads "DE-BY" and "id:secret"."""
    assert rk.HolidayCalendar.parse("de-by") == rk.HolidayCalendar("DE", "BY")
    assert rk.HolidayCalendar.parse("PL") == rk.HolidayCalendar("PL")
    with pytest.raises(rk.WindowError):
        rk.HolidayCalendar.parse("XX")
    with pytest.raises(rk.WindowError):
        rk.HolidayCalendar.parse("-BY")
    signer = rk.LinkSigner.from_text("k2:second-secret-0123456789, k1:first-secret-0123456789")
    assert list(signer.keys) == ["k2", "k1"]
    with pytest.raises(rk.ValidationError, match=r"\$KEYS: write link keys as id:secret"):
        rk.LinkSigner.from_text("no-colon-here", source="$KEYS")
    with pytest.raises(rk.ValidationError, match="too short"):
        rk.LinkSigner.from_text("k1:short")


def test_a_nul_in_an_imported_cell_rejects_that_row_naming_its_column(tmp_path: Path) -> None:
    """A NUL in a name or an order number (a damaged export) rejects the row, naming the
    file's column; the other rows are imported."""
    from reviewkit.services.importer import import_csv

    path = tmp_path / "orders.csv"
    path.write_text(
        "email;name;order\na@example.com;An\x00na;1\nb@example.com;Bob;2\x003\n"
        "c@example.com;Cezary;4\n",
        encoding="utf-8",
    )
    with rk.SQLiteStore(tmp_path / "r.sqlite3") as store:
        service = rk.CampaignService(store, rk.SystemClock())
        me = rk.Actor.system()
        service.create(me, name="orders")
        result = import_csv(service, me, "orders", path)
    assert (result.accepted, result.rejected) == (1, 2)
    assert [(e.row, e.column) for e in result.errors] == [(2, "name"), (3, "order")]
    assert all("NUL character" in e.reason for e in result.errors)
