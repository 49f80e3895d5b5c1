"""CSV import: spreadsheet exports, every row accounted for, errors that can be fixed."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reviewkit as rk
from reviewkit.domain.sms import normalize_phone
from reviewkit.services import importer
from reviewkit.services.importer import import_csv

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

HEADER = "Adres e-mail;Imię;Nr zamówienia;Telefon;Sklep;PESEL\r\n"
ROWS = (
    "ala@example.com;Ala Żółw;Z-1;500 100 200;Kraków;44051401359\r\n"
    'olek@example.com;Olek;Z-2;;"Gdańsk\r\nul. Długa 1";\r\n'  # a quoted line break
    "zły-adres;Ewa;Z-3;;Poznań;\r\n"
    "ewa@example.com;Ewa;Z-4;;Poznań;44051401358\r\n"  # wrong PESEL check digit
    "ALA@example.com;Ala again;Z-1;;Kraków;\r\n"  # the same order as row 2
    ";;;;;\r\n"  # an empty line a spreadsheet leaves
)


def write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp1250"])
def test_spreadsheet_export_is_imported_and_every_row_accounted_for(
    service: rk.CampaignService, actor: rk.Actor, tmp_path: Path, encoding: str
) -> None:
    """Semicolons, Polish headers, a BOM or Windows-1250, quoted newlines: all read right."""
    source = write(tmp_path / "orders.csv", HEADER + ROWS, encoding)
    errors = tmp_path / "errors.csv"
    result = import_csv(
        service,
        actor,
        "import",
        source,
        field_types={"PESEL": "pesel"},
        default_region="PL",
        errors_to=errors,
        create=True,
    )
    assert (result.rows, result.accepted, result.rejected, result.duplicates) == (5, 2, 2, 1)
    assert result.accepted + result.rejected + result.duplicates == result.rows
    assert [(e.row, e.column) for e in result.errors] == [(4, "Adres e-mail"), (5, "PESEL")]
    requests = {d.address: d for d in service.requests(actor, "import")}
    ala = requests["ala@example.com"].recipient
    assert (ala.name, ala.transaction_id, ala.phone) == ("Ala Żółw", "Z-1", "+48500100200")
    assert ala.fields == {"Sklep": "Kraków", "PESEL": "44051401359"}
    # The quoted line break stays inside its cell, and the next row is still row 4.
    assert requests["olek@example.com"].recipient.fields["Sklep"] == "Gdańsk\r\nul. Długa 1"
    # The errors file holds the original rows plus the reason, ready to fix and re-import.
    with errors.open(encoding="utf-8", newline="") as handle:
        rejected = list(csv.reader(handle))
    assert rejected[0][-1] == "error"
    assert rejected[1][0] == "zły-adres"
    assert "row 4, Adres e-mail" in rejected[1][-1]


def test_importing_the_same_file_twice_adds_nothing(
    service: rk.CampaignService, actor: rk.Actor, tmp_path: Path
) -> None:
    """A second import of one file only finds duplicates."""
    source = write(tmp_path / "o.csv", HEADER + ROWS, "utf-8")
    import_csv(service, actor, "twice", source, create=True)
    again = import_csv(service, actor, "twice", source, create=True)
    assert again.accepted == 0
    assert again.duplicates == 3  # ala, olek and ala again; ewa's row passes without types


def test_fixed_errors_file_can_be_imported(
    service: rk.CampaignService, actor: rk.Actor, tmp_path: Path
) -> None:
    """Fixing the rejected rows in the errors CSV and importing it adds them."""
    errors = tmp_path / "errors.csv"
    import_csv(
        service,
        actor,
        "fix",
        write(tmp_path / "o.csv", HEADER + ROWS, "utf-8"),
        field_types={"PESEL": "pesel"},
        errors_to=errors,
        default_region="PL",
        create=True,
    )
    fixed = errors.read_text(encoding="utf-8").replace("zły-adres", "zly@example.com")
    fixed = fixed.replace("44051401358", "44051401359")
    result = import_csv(
        service,
        actor,
        "fix",
        write(tmp_path / "fixed.csv", fixed, "utf-8"),
        field_types={"PESEL": "pesel"},
        create=True,
    )
    assert (result.accepted, result.rejected) == (2, 0)


def test_missing_address_column_is_refused_before_anything_is_added(
    service: rk.CampaignService, actor: rk.Actor, tmp_path: Path
) -> None:
    """A file without an e-mail column is refused whole, with the columns it has."""
    with pytest.raises(rk.ValidationError, match="no email address column among"):
        import_csv(
            service,
            actor,
            "c",
            write(tmp_path / "x.csv", "name,order\nAla,1\n", "utf-8"),
            create=True,
        )


cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(cell, min_size=0, max_size=5), max_size=25),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_generated_csv_never_crashes_and_accounts_for_every_row(
    service: rk.CampaignService, actor: rk.Actor, rows: list[list[str]], delimiter: str
) -> None:
    """Whatever the cells hold, the import finishes and every non-empty row is counted once."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["email", "name", "order"])
    writer.writerows(rows)
    non_empty = sum(1 for r in rows if any(c.strip() for c in r))
    name = f"gen{len(rows)}{delimiter!r}{hash(tuple(map(tuple, rows)))}"
    result = import_csv(
        service,
        actor,
        name,
        io.BytesIO(buffer.getvalue().encode("utf-8")),
        delimiter=delimiter,
        create=True,
    )
    assert result.rows == non_empty
    assert result.accepted + result.rejected + result.duplicates == result.rows


class _Pipe(io.RawIOBase):
    """A stream that can be read once, front to back, as a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        return self._data.readinto(buffer)


@pytest.mark.parametrize("seekable", [True, False])
def test_a_stream_is_read_from_where_it_stands(
    service: rk.CampaignService, actor: rk.Actor, seekable: bool
) -> None:
    """A file object handed over part-read (here past a line the host skipped) is imported
    from where it stands, whether it can be read again (a file) or not (a pipe)."""
    head = b"exported by the shop, do not edit\n"
    rows = "".join(f"c{i}@example.com;Z-{i}\n" for i in range(3_000))
    data = head + ("email;order\n" + rows).encode()
    stream: IO[bytes] = io.BytesIO(data) if seekable else io.BufferedReader(_Pipe(data))
    stream.readline()
    result = import_csv(service, actor, "streamed", stream, create=True)
    assert (result.rows, result.accepted, result.rejected) == (3_000, 3_000, 0)


def test_cli_import(tmp_path: Path) -> None:
    """`reviewkit import` creates the campaign, reports the counts and writes the errors file."""
    write(tmp_path / "orders.csv", HEADER + ROWS, "cp1250")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reviewkit",
            "import",
            "orders.csv",
            "--campaign",
            "old orders",
            "--create",
            "--encoding",
            "cp1250",
            "--errors",
            "bad.csv",
            "--field-type",
            "PESEL=pesel",
            "--default-region",
            "PL",
            "--db",
            str(tmp_path / "db.sqlite3"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stderr  # done, rows rejected
    assert "5 rows: 2 accepted, 2 rejected, 1 duplicates" in result.stdout
    assert (tmp_path / "bad.csv").exists()


def test_segment_consents_and_dates_are_read(
    service: rk.CampaignService, actor: rk.Actor, tmp_path: Path
) -> None:
    """Segment and consent columns become the recipient's; a consent records the file and
    the import time; dates are checked and stored as ISO; a bad cell names its column."""
    source = write(
        tmp_path / "zamowienia.csv",
        "email;zamówienie;segment klienta;zgoda na publikację;zgoda:newsletter;data zakupu\n"
        "ala@example.com;Z-1;vip;TAK;nie;23.11.2026\n"
        "ola@example.com;Z-2;;;1;2026-11-22\n"
        "ewa@example.com;Z-3;;może;;2026-11-22\n"
        "jan@example.com;Z-4;;;;31.02.2026\n",
        "utf-8",
    )
    result = import_csv(
        service, actor, "c", source, field_types={"data zakupu": "date"}, create=True
    )
    assert (result.accepted, result.rejected) == (2, 2)
    assert [(e.row, e.column) for e in result.errors] == [
        (4, "zgoda na publikację"),
        (5, "data zakupu"),
    ]
    ala, ola = service.requests(actor, "c")
    assert ala.recipient.segment == "vip"
    assert ala.recipient.fields == {"data zakupu": "2026-11-23"}
    publication = ala.recipient.consents[rk.PUBLICATION]
    assert publication.granted
    assert publication.source == "import zamowienia.csv"
    assert publication.at == service.clock.now()
    assert not ala.recipient.consents["newsletter"].granted
    assert rk.PUBLICATION not in ola.recipient.consents  # empty: unknown, not refused
    assert ola.recipient.consents["newsletter"].granted


def _orders(n: int, bad_every: int) -> str:
    lines = ["email,order,phone"]
    for i in range(n):
        email = "broken" if i % bad_every == 0 else f"c{i}@example.com"
        lines.append(f"{email},Z-{i % (n - 50)},50{i % 10}100{i % 1000:03d}")
    return "\n".join(lines) + "\n"


def test_checking_in_worker_processes_gives_the_same_result(
    service: rk.CampaignService, actor: rk.Actor, tmp_path: Path
) -> None:
    """With rows checked in two processes, the result, the rejected rows (in file order)
    and the stored requests (in file order) are those of a one-process import."""
    source = write(tmp_path / "orders.csv", _orders(3_500, bad_every=97), "utf-8")
    seen: list[int] = []
    results = {}
    for workers in (1, 2):
        results[workers] = import_csv(
            service,
            actor,
            f"w{workers}",
            source,
            default_region="PL",
            workers=workers,
            errors_to=tmp_path / f"errors{workers}.csv",
            progress=lambda done: seen.append(done.rows),
            create=True,
        )
    one, two = results[1], results[2]
    # 37 broken addresses (every 97th row); the last 50 rows repeat orders Z-0..Z-49, but
    # Z-0's first row was broken (so its repeat is accepted) and row Z-42's repeat is broken.
    assert (one.rows, one.accepted, one.rejected, one.duplicates) == (3_500, 3_415, 37, 48)
    assert (two.rows, two.accepted, two.rejected, two.duplicates) == (
        one.rows, one.accepted, one.rejected, one.duplicates
    )  # fmt: skip
    assert two.errors == one.errors
    assert (tmp_path / "errors1.csv").read_text() == (tmp_path / "errors2.csv").read_text()
    stored = [
        [(d.recipient.transaction_id, d.address) for d in service.requests(actor, f"w{w}")]
        for w in (1, 2)
    ]
    assert stored[0] == stored[1]
    assert seen[-1] == 3_500
    with pytest.raises(rk.ValidationError, match="workers must be at least 1"):
        import_csv(service, actor, "w0", source, workers=0, create=True)


def test_recipients_survive_pickling_whole() -> None:
    """Checked recipients travel back from worker processes by pickle; every field must."""
    import pickle

    import attrs

    from reviewkit.domain.request import _PLAIN_RECIPIENT_FIELDS

    names = [f.name for f in attrs.fields(rk.Recipient)]
    assert set(names) == {*_PLAIN_RECIPIENT_FIELDS, "consents", "fields"}
    recipient = rk.Recipient(
        email="a@example.com",
        phone="+48500100200",
        name="A",
        transaction_id="Z-1",
        timezone="Europe/Warsaw",
        segment="vip",
        chat_id="psid-1",
        consents={rk.PUBLICATION: True},
        fields={"store": "Kraków"},
    )
    assert pickle.loads(pickle.dumps(recipient)) == recipient  # noqa: S301 - our own bytes


@pytest.mark.parametrize(
    ("workers", "transaction_rows", "transaction_seconds", "kept"),
    [
        (1, 2_000, 3_600.0, 2_000),  # a full transaction is stored, the one being filled not
        (2, 2_000, 3_600.0, 2_000),
        (1, 10_000, 0.0, 3_000),  # a transaction older than its time is stored at once
        (2, 10_000, 0.0, 3_000),
    ],
)
def test_an_interrupted_import_leaves_whole_transactions_and_resumes(
    service: rk.CampaignService,
    actor: rk.Actor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
    transaction_rows: int,
    transaction_seconds: float,
    kept: int,
) -> None:
    """Stopped part-way (here by the progress callback raising, as Ctrl-C would), an import
    has stored the transactions that were full (by rows or by time) and nothing of the one
    being filled; importing the file again adds exactly what is missing."""
    monkeypatch.setattr(importer, "_TRANSACTION_ROWS", transaction_rows)
    monkeypatch.setattr(importer, "_TRANSACTION_SECONDS", transaction_seconds)
    lines = ["email,order"] + [f"c{i}@example.com,Z-{i % 4_450}" for i in range(4_500)]
    source = write(tmp_path / "orders.csv", "\n".join(lines) + "\n", "utf-8")

    def stop_after_three_chunks(done: object) -> None:
        if getattr(done, "rows", 0) >= 3_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_csv(
            service,
            actor,
            "big",
            source,
            default_region="PL",
            workers=workers,
            progress=stop_after_three_chunks,
            create=True,
        )
    stored = len(list(service.requests(actor, "big")))
    assert stored == kept
    again = import_csv(
        service, actor, "big", source, default_region="PL", workers=workers, create=True
    )
    assert again.accepted == 4_450 - stored  # 50 repeated orders in the file
    assert again.duplicates == 50 + stored
    assert len(list(service.requests(actor, "big"))) == 4_450


def test_a_large_import_commits_in_transactions_of_up_to_10_000_rows(
    tmp_path: Path, actor: rk.Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the time bound does not cut them short, 25,000 rows are stored in three
    transactions (10,000, 10,000, 5,000), not one per 1,000 rows."""
    sizes: list[int] = []

    class Counting(rk.InMemoryStore):
        def add_requests(self, requests: Iterable[rk.Request]) -> int:
            made = list(requests)
            sizes.append(len(made))
            return super().add_requests(made)

    service = rk.CampaignService(Counting(), rk.ManualClock(NOW))
    lines = ["email,order"] + [f"c{i}@example.com,Z-{i}" for i in range(25_000)]
    source = write(tmp_path / "orders.csv", "\n".join(lines) + "\n", "utf-8")
    monkeypatch.setattr(importer, "_TRANSACTION_SECONDS", 3_600.0)  # rows decide, not time
    result = import_csv(service, actor, "big", source, workers=1, create=True)
    assert result.accepted == 25_000
    assert sizes == [10_000, 10_000, 5_000]


def test_a_chat_campaign_takes_its_addresses_from_the_chat_id_column(
    service: rk.CampaignService, actor: rk.Actor, tmp_path: Path
) -> None:
    """On the chat channel the address is the person's chat id, not a phone number."""
    service.create(actor, name="chat", channel=rk.Channel.CHAT)
    source = write(
        tmp_path / "chat.csv",
        "psid,phone,order\np-1,+48500100200,Z-1\n,+48500100201,Z-2\n",
        "utf-8",
    )
    result = import_csv(service, actor, "chat", source, create=True)
    assert (result.accepted, result.rejected) == (1, 1)
    assert result.errors[0].column == "psid"
    (request,) = service.requests(actor, "chat")
    assert (request.address, request.recipient.chat_id) == ("p-1", "p-1")
    with pytest.raises(rk.ValidationError, match="no chat address column among"):
        import_csv(
            service,
            actor,
            "chat",
            write(tmp_path / "x.csv", "phone\n+48500100200\n", "utf-8"),
            create=True,
        )


def test_a_campaign_name_that_matches_none_is_an_error_naming_similar_ones(
    service: rk.CampaignService, actor: rk.Actor, tmp_path: Path
) -> None:
    """A typo does not create an empty draft: it is refused, with the likely campaign."""
    service.create(actor, name="Listopad")
    source = write(tmp_path / "x.csv", "email\nala@example.com\n", "utf-8")
    with pytest.raises(rk.NotFoundError, match=r"no campaign 'listopad'; did you mean 'Listopad'"):
        import_csv(service, actor, "listopad", source)
    with pytest.raises(rk.NotFoundError, match=r"--create"):
        import_csv(service, actor, "grudzień", source)
    assert [c.name for c in service.list(actor)] == ["Listopad"]


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01\x02binary\xff\xfe\x00garbage",  # not text at all
        b"",  # empty
        b"name,order\nAla,1\n",  # no address column
    ],
)
def test_a_failed_import_with_create_leaves_no_draft_behind(
    service: rk.CampaignService, actor: rk.Actor, tmp_path: Path, content: bytes
) -> None:
    """A file that cannot be imported changes nothing, not even the campaign list."""
    source = tmp_path / "bad.csv"
    source.write_bytes(content)
    with pytest.raises(rk.ValidationError):
        import_csv(service, actor, "new one", source, create=True)
    assert service.list(actor) == []


def test_cli_import_refuses_a_missing_campaign_without_create(tmp_path: Path) -> None:
    """`reviewkit import` into a campaign that does not exist exits 1 and creates nothing."""
    write(tmp_path / "orders.csv", "email\nala@example.com\n", "utf-8")
    db = tmp_path / "db.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "reviewkit", "import", "orders.csv", "--campaign", "nope",
         "--db", str(db)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "no campaign 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-32-be"])
def test_utf16_and_utf32_files_are_read_by_their_byte_order_mark(
    service: rk.CampaignService, actor: rk.Actor, tmp_path: Path, encoding: str
) -> None:
    """Spreadsheet programs' "Unicode text" exports import like UTF-8 ones."""
    service.create(actor, name="u")
    text = "email,Imię\nłucja@example.com,Łucja\nola@example.com,Ola\n"
    bom = {"utf-16-be": "\ufeff", "utf-32-be": "\ufeff"}.get(encoding, "")
    source = tmp_path / "u.csv"
    source.write_bytes((bom + text).encode(encoding))
    result = import_csv(service, actor, "u", source)
    assert (result.accepted, result.rejected) == (2, 0)
    names = sorted(d.recipient.name or "" for d in service.requests(actor, "u"))
    assert names == ["Ola", "Łucja"]


def test_a_cell_over_the_field_limit_is_a_row_error_and_the_rest_is_read(
    service: rk.CampaignService, actor: rk.Actor, tmp_path: Path
) -> None:
    """A 10 MB cell rejects its row with the reason; the rows after it are imported."""
    service.create(actor, name="big")
    source = tmp_path / "big.csv"
    source.write_text(
        "email,note\na@example.com,ok\nb@example.com," + "x" * 10_000_000 + "\nc@example.com,ok\n",
        encoding="utf-8",
    )
    result = import_csv(service, actor, "big", source)
    assert (result.rows, result.accepted, result.rejected) == (3, 2, 1)
    assert result.errors[0].row == 3
    assert "field larger than field limit" in result.errors[0].reason


def test_the_errors_file_is_safe_for_a_spreadsheet_and_names_each_row(
    service: rk.CampaignService, actor: rk.Actor, tmp_path: Path
) -> None:
    """Formula-like cells in the errors CSV are neutralised as in an export; a row with too
    many values is named by its row (not "None") and its extra values are quoted; a phone
    without a country code is explained without the phone library's words."""
    source = write(
        tmp_path / "o.csv",
        'email,name,phone\n=HYPERLINK("http://x"),Ala,\nola@example.com,Ola,+48600100200,extra\n'
        "piotr@example.com,@SUM(A1),600 100 200\n",
        "utf-8",
    )
    errors = tmp_path / "errors.csv"
    result = import_csv(service, actor, "sheet", source, errors_to=errors, create=True)
    assert result.rejected == 3
    with errors.open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == ["email", "name", "phone", "error"]
    assert rows[0][0] == '\'=HYPERLINK("http://x")'
    assert rows[1][:3] == ["ola@example.com", "Ola", "'+48600100200"]
    assert rows[1][3].startswith("row 3: 4 values but the header has 3 columns")
    assert "'extra'" in rows[1][3]
    assert rows[2][1] == "'@SUM(A1)"
    assert "has no country code" in rows[2][3]
    assert [e.column for e in result.errors] == ["email", None, "phone"]
    # Fixed in the sheet and imported again, the neutralised cells read as they were.
    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(
            [header[:3], ["ola@example.com", "Ola", rows[1][2]], ["piotr@example.com", "Piotr",
             "'+48 600 100 200"]]
        )  # fmt: skip
    again = import_csv(service, actor, "sheet", fixed)
    assert (again.accepted, again.rejected) == (2, 0)
    phones = {r.recipient.phone for r in service.requests(actor, "sheet")}
    assert phones == {"+48600100200"}


@given(st.text(alphabet="+0123456789 -()./", min_size=1, max_size=24))
def test_a_phone_that_cannot_be_read_is_explained_in_plain_words(number: str) -> None:
    """Whatever is typed, a refusal speaks of the number, never of the library's codes."""
    try:
        normalize_phone(number)
    except rk.ValidationError as exc:
        message = str(exc)
        assert message.startswith(f"phone number {number!r} ")
        reason = message.removeprefix(f"phone number {number!r} ")
        assert "default region." not in reason
        assert not re.search(r"\(\d\)", reason)  # the library's error codes


def test_rows_made_for_the_store_are_the_requests_add_checked_makes(
    service: rk.CampaignService, actor: rk.Actor, store: rk.Store
) -> None:
    """A store that takes prepared rows stores the same requests from them as from
    (recipient, address) pairs; a store that does not is told to use add_checked."""
    service.create(actor, name="pairs", send_delay=timedelta(minutes=10))
    service.create(actor, name="rows", send_delay=timedelta(minutes=10))
    recipient = rk.Recipient(
        email="ala@example.com", name="Ala", transaction_id="T-1", segment="vip",
        consents={rk.PUBLICATION: rk.Consent(granted=True, source="import")},
        fields={"store": "Kraków"},
    )  # fmt: skip
    pairs = service.open_for_adding(actor, "pairs")
    service.add_checked(pairs, [(recipient, "ala@example.com")])
    target = service.open_for_adding(actor, "rows")
    rows = service.checked_rows(target)
    if not isinstance(store, rk.ports.BulkRequestStore):
        assert rows is None
        with pytest.raises(rk.ConfigurationError):
            service.add_checked_rows([])
        return
    assert rows is not None
    assert service.add_checked_rows([rows(recipient, "ala@example.com")]).added == 1
    (one,) = service.requests(actor, "pairs")
    (other,) = service.requests(actor, "rows")
    assert attrs.evolve(other, id=one.id, campaign_id=one.campaign_id) == one
