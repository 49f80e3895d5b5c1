"""`reviewkit suppress` from the shell: addresses written as requests write them, a list in
three formats, a file import that names its bad rows, and a suppressed address never sent."""

from __future__ import annotations

import json
import mailbox
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.cli import main


def _cli(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--db", str(db)])
    out, err = capsys.readouterr()
    return code, out, err


def test_added_addresses_are_listed_normalised_and_lifted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.sqlite3"
    code, out, _ = _cli(
        capsys, db, "suppress", "add", " Ala@EXAMPLE.com", "bob@example.com",
        "--reason", "complaint", "--note", "asked by phone",
    )  # fmt: skip
    assert (code, out.strip()) == (0, "suppressed 2 email addresses")
    assert _cli(capsys, db, "suppress", "add", "500 100 200", "--channel", "sms")[0] == 0
    code, out, _ = _cli(capsys, db, "suppress", "list", "--format", "json")
    listed = json.loads(out)
    assert [(r["channel"], r["address"], r["reason"]) for r in listed] == [
        ("email", "Ala@example.com", "complaint"),  # the domain lower-cased, as requests have it
        ("email", "bob@example.com", "complaint"),
        ("sms", "+48500100200", "blocklisted"),
    ]
    assert listed[0]["note"] == "asked by phone"
    code, out, _ = _cli(capsys, db, "suppress", "list", "--format", "csv", "--channel", "sms")
    assert out.splitlines() == [
        "channel,address,reason,at,note",
        f"sms,+48500100200,blocklisted,{listed[2]['at']},",
    ]
    code, out, err = _cli(capsys, db, "suppress", "remove", "ALA@example.com", "c@example.com")
    assert code == 3
    assert out.strip() == "lifted 1 suppression(s)"
    assert "c@example.com was not suppressed on email" in err
    code, out, _ = _cli(capsys, db, "suppress", "list")
    assert "bob@example.com" in out
    assert "Ala@" not in out


def test_an_import_suppresses_the_good_rows_and_names_the_bad_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.sqlite3"
    blocklist = tmp_path / "blocklist.csv"
    blocklist.write_text(
        "name,E-mail\nAla,ala@example.com\nBad,not an address\nAla again,ALA@example.com\n"
        "Cyryl,cyryl@example.com\n",
        encoding="utf-8",
    )
    code, out, err = _cli(capsys, db, "suppress", "import", str(blocklist), "--column", "e-mail")
    assert code == 3
    assert out.strip() == "suppressed 2 email addresses, rejected 1 rows"
    assert f"{blocklist}:3: e-mail address 'not an address' is not valid" in err
    with rk.SQLiteStore(db) as store:
        assert {s.address for s in store.iter_suppressions()} == {
            "ala@example.com",
            "cyryl@example.com",
        }


def test_an_import_without_an_address_column_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.sqlite3"
    listing = tmp_path / "list.csv"
    listing.write_text("name,city\nAla,Kraków\n", encoding="utf-8")
    code, _, err = _cli(capsys, db, "suppress", "import", str(listing))
    assert code == 1
    assert "no column address or email or phone" in err
    assert err.count("\n") == 1


def test_a_suppressed_address_is_not_sent_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Suppressed from the shell after the request was queued: the dispatcher skips it."""
    db = tmp_path / "r.sqlite3"
    with rk.SQLiteStore(db) as store:
        service = rk.CampaignService(store, rk.SystemClock())
        actor = rk.Actor.system()
        service.create(
            actor, name="c", sender="shop@example.com", subject="Hi", body="Hello",
            start_at=datetime(2020, 1, 1, tzinfo=UTC),
        )  # fmt: skip
        service.add_recipients(
            actor, "c", [rk.Recipient(email="ala@example.com"), rk.Recipient(email="b@example.com")]
        )
        service.schedule(actor, "c")
    assert _cli(capsys, db, "suppress", "add", "ALA@example.com")[0] == 0
    outbox = tmp_path / "outbox"
    code, _, _ = _cli(
        capsys, db, "dispatch", "--outbox", str(outbox), "--until-idle", "--max-wait", "1s"
    )
    assert code == 0
    box = mailbox.Maildir(outbox, create=False)
    assert [m["To"] for m in box] == ["b@example.com"]


@settings(max_examples=40, deadline=None)
@given(text=st.text(max_size=40))
def test_any_text_is_suppressed_whole_or_refused_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    """Whatever is typed as an address, the command suppresses it normalised or refuses it
    with one line, and the list never holds anything else."""
    db = tmp_path_factory.mktemp("s") / "r.sqlite3"
    code = main(["suppress", "add", text, "--db", str(db)])
    with rk.SQLiteStore(db) as store:
        listed = list(store.iter_suppressions())
    if code == 0:
        assert len(listed) == 1
        assert "@" in listed[0].address
    else:
        assert code in (1, 2)
        assert listed == []
