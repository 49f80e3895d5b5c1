"""Every mistake in the shell is one line on stderr and exit status 1 (2 for usage), never a
traceback: the command line is run in-process, so an uncaught exception fails the test."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.cli import main


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rows.csv").write_text("email,name\nala@example.com,Ala\n", encoding="utf-8")
    assert main(["campaign", "create", "--name", "spring"]) == 0
    return tmp_path


BAD = [
    ("import rows.csv --campaign spring --encoding nope", "unknown encoding 'nope'"),
    ("import rows.csv --campaign spring --delimiter ;;", "must be one character"),
    ("import rows.csv --campaign spring --field-type pesel=pesel", "no such column"),
    ("import rows.csv --campaign spring --field-type name=blood", "use pesel, nip"),
    ("import rows.csv --campaign spring --errors missing/e.csv", "No such file or directory"),
    ("import missing.csv --campaign spring", "no such file"),
    ("import rows.csv --campaign sprnig", "spring"),
    ("requests export --output missing/out.csv", "No such file or directory"),
    ("requests list --timezone Mars/Base --since 2026-01-01", "unknown time zone 'Mars/Base'"),
    ("requests list --page-size 50 --since notadate", "not an ISO date-time"),
    ("scores --timezone Mars/Base", "unknown time zone 'Mars/Base'"),
    ("scores --since notadate", "not an ISO date-time"),
    ("scores --by colour", "colour"),
    ("campaign create --name y --timezone Mars/Base", "unknown time zone 'Mars/Base'"),
    ("campaign create --name y --start notadate", "not an ISO date-time"),
    ("campaign create --name y --interval 5x", "interval '5x'"),
    ("campaign create --name y --hours 25:00-26:00", "25:00"),
    ("campaign create --name y --days someday", "someday"),
    ("campaign create --name y --holidays XX", "XX"),
    ("campaign create --name spring", "already exists"),
    ("campaign create --name y --body-file missing.txt", "cannot read template file"),
    ("campaign show nothing", "nothing"),
    ("campaign schedule spring", "spring"),
    ("campaign add-recipient spring --email not-an-address", "not-an-address"),
    ("request send --campaign spring --email a@example.com --transaction T --consent x=maybe",
     "yes/no"),
    ("request send --campaign spring --email a@example.com --transaction T --at tomorrow",
     "tomorrow"),
    ("dispatch --outbox missing/deeper/box --until-idle --busy-timeout -1", "must not be negative"),
    ("dispatch --smtp ftp://nowhere --until-idle", "ftp"),
    ("accounts verify --smtp smtp://127.0.0.1:1?from=a@example.com --to b@example.com",
     "FAILED at connect"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "expected"), BAD, ids=[c for c, _ in BAD])
def test_a_mistake_is_one_clear_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], command: str, expected: str
) -> None:
    status = main(command.split())
    err = capsys.readouterr().err
    assert status == 1, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert expected in lines[0], err


@pytest.mark.parametrize(
    "command",
    ["campaign", "campaign create", "import", "dispatch --until-idle", "scores --type xyz"],
)
def test_a_usage_mistake_exits_2(workdir: Path, command: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(command.split())
    assert stopped.value.code == 2
