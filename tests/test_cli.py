"""The command line and the demo, run as a user runs them."""

from __future__ import annotations

import contextlib
import itertools
import json
import mailbox
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

import reviewkit as rk
from reviewkit.adapters.sqlite import SQLiteStore
from reviewkit.cli import main, parse_interval
from reviewkit.demo import DEMO_ZONE

from .conftest import add_answer


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reviewkit", *args],
        cwd=cwd,
        env=None if env is None else {**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _messages(outbox: Path) -> list[EmailMessage]:
    box = mailbox.Maildir(outbox, create=False)
    parser = BytesParser(policy=policy.default, _class=EmailMessage)
    return [parser.parsebytes(box.get_bytes(key)) for key in box.iterkeys()]


def test_demo_sends_one_parseable_message_per_recipient_inside_the_window(tmp_path: Path) -> None:
    """`reviewkit demo` fills a Maildir with one request per recipient and reminders, all in
    office hours, each with its answer and unsubscribe links."""
    result = run_cli("demo", "--recipients", "150", "--outbox", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "sent       150" in result.stdout
    assert "sent outside the window: 0" in result.stdout
    everything = _messages(tmp_path / "out")
    messages = [m for m in everything if str(m["Subject"]).startswith("Jak oceniasz")]
    reminders = [m for m in everything if str(m["Subject"]).startswith("Przypomnienie")]
    assert len(messages) == 150
    assert len({m["To"] for m in messages}) == 150
    assert len({m["Message-ID"] for m in messages + reminders}) == 150 + len(reminders)
    assert f"reminders: {len(reminders)}" in result.stdout
    zone = rk.load_zone(DEMO_ZONE)
    window = rk.SendWindow(
        weekdays="mon-fri", hours="09:00-17:00", holidays=rk.HolidayCalendar("PL")
    )
    dates = sorted(parsedate_to_datetime(m["Date"]) for m in messages)
    sent = messages + reminders  # customer care's alerts are not held to the window
    assert all(window.contains(parsedate_to_datetime(m["Date"]), zone) for m in sent)
    # It crossed a night, three holidays and a weekend: Wednesday 23 to Monday 28 December.
    assert dates[0].astimezone(zone).day == 23
    assert dates[-1].astimezone(zone).day == 28
    for earlier, later in itertools.pairwise(dates):
        assert later - earlier >= timedelta(seconds=30)
    first = messages[0]
    assert first["Subject"].startswith("Jak oceniasz zamówienie ZAM-2026-")
    assert first.get_body(("html",)) is not None
    text = first.get_body(("plain",)).get_content()
    assert "http://127.0.0.1:8025/a/" in text
    assert "http://127.0.0.1:8025/u/" in text
    assert first["List-Unsubscribe"].startswith("<http://127.0.0.1:8025/u/")


def test_demo_runs_the_whole_loop(tmp_path: Path) -> None:
    """Customers answer through the answer page, reminders go only to the silent ones,
    customer care hears of angry customers, and the scores printed are the stored ones."""
    result = run_cli("demo", "--recipients", "200", "--outbox", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    everything = _messages(tmp_path / "out")
    reminded = {
        str(m["X-Reviewkit-Request"]): parsedate_to_datetime(m["Date"])
        for m in everything
        if str(m["Subject"]).startswith("Przypomnienie")
    }
    care = [m for m in everything if str(m["To"]) == "opieka@sklep.example"]
    with SQLiteStore(tmp_path / "reviewkit.sqlite3") as store:
        campaign = store.get_campaign("demo")
        requests = list(store.iter_requests(campaign.id))
        answers = {r.id: store.answers_for(r.id) for r in requests}
        given = [a for found in answers.values() for a in found]
        line = f"customers answered {len(given)} through the answer page"
        assert line in result.stdout
        assert len(given) > 40  # a share of 200 answered
        for request_id, when in reminded.items():
            # Nobody who had answered (or unsubscribed) before it was reminded.
            assert all(a.at > when for a in answers[request_id])
            assert store.get_request(request_id).unsubscribed_at is None
        late = sum(1 for r, found in answers.items() if found and r in reminded)
        assert f"({late} after the reminder)" in result.stdout
        angry = [a for a in given if a.score <= 3]
        assert angry
        assert f"alerts fired: {len(angry)} " in result.stdout
        assert care
        assert all("firing" in m["Subject"].lower() for m in care)
        told = "".join(m.get_body(("plain",)).get_content() for m in care)
        assert told.count("NPS answer ") == len(angry)
        rows = rk.ScoreService(store).scores(
            rk.SurveyType.NPS,
            by="segment",
            period="week",
            timezone=DEMO_ZONE,
            min_sample=10,
            campaign_id=campaign.id,
        )
    assert rows
    for row in rows:
        shown = f"{row.period}  {row.group}"
        assert any(
            line.startswith(shown) and f" {row.score.n} " in line
            for line in result.stdout.splitlines()
        )


@contextlib.contextmanager
def _serving_demo(folder: Path) -> Iterator[subprocess.Popen[str]]:
    """`reviewkit demo --serve` on a free port of 127.0.0.1, run in *folder*; killed on the
    way out if it is still there."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "reviewkit", "demo", "--recipients", "4", "--serve",
               "--port", str(port)]  # fmt: skip
    with subprocess.Popen(
        command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()


def _answer_from_the_served_page(
    process: subprocess.Popen[str], folder: Path
) -> tuple[EmailMessage, str]:
    """Wait for the demo to serve, then answer a silent customer's link over HTTP; return
    the message and its answer link."""
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("serving the answer page on"):
            break
    else:
        pytest.fail(f"the demo did not serve: {process.stderr.read() if process.stderr else ''}")
    with SQLiteStore(folder / "reviewkit.sqlite3") as store:
        campaign = store.get_campaign("demo")
        silent = [r.id for r in store.iter_requests(campaign.id) if not store.answers_for(r.id)]
    message = next(
        m for m in _messages(folder / "reviewkit-outbox") if str(m["X-Reviewkit-Request"]) in silent
    )
    text = message.get_body(("plain",)).get_content()
    link = re.search(r"http://127\.0\.0\.1:\d+/a/\S+", text)
    assert link is not None
    # The URL is the local server's, read from the message just checked.
    with urllib.request.urlopen(link.group(0) + "?score=9", timeout=10) as page:  # noqa: S310
        assert "<legend>" in page.read().decode()
    form = urllib.parse.urlencode({"score": "9", "comment": "Kliknięte w demo"}).encode()
    with urllib.request.urlopen(link.group(0), data=form, timeout=10) as thanks:  # noqa: S310
        assert "Dziękujemy za odpowiedź!" in thanks.read().decode()
    return message, link.group(0)


def test_demo_serves_its_answer_page(tmp_path: Path) -> None:
    """`reviewkit demo --serve` answers the links in its Maildir over HTTP on 127.0.0.1 and
    stops cleanly on SIGTERM."""
    with _serving_demo(tmp_path) as process:
        message, _ = _answer_from_the_served_page(process, tmp_path)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    with SQLiteStore(tmp_path / "reviewkit.sqlite3") as store:
        request_id = str(message["X-Reviewkit-Request"])
        (answer,) = store.answers_for(request_id)
        assert (answer.score, answer.comment) == (9, "Kliknięte w demo")


def test_demo_stops_on_sigterm_while_answering_requests(tmp_path: Path) -> None:
    """SIGTERM that arrives while the demo's server is answering a request stops it (the
    request is finished first) instead of being swallowed by the request's handler."""
    done = threading.Event()

    def keep_asking(url: str) -> None:  # one request after another, so a signal lands in one
        while not done.is_set():
            try:
                with urllib.request.urlopen(url, timeout=5) as page:  # noqa: S310
                    page.read()
            except OSError:  # the server may be gone
                pass

    askers: list[threading.Thread] = []
    with _serving_demo(tmp_path) as process:
        try:
            _, link = _answer_from_the_served_page(process, tmp_path)
            askers = [
                threading.Thread(target=keep_asking, args=(link + "?score=9",)) for _ in range(4)
            ]
            for asker in askers:
                asker.start()
            time.sleep(1.0)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            done.set()
            for asker in askers:
                asker.join()


def test_demo_opens_a_survey_link_at_the_till(tmp_path: Path) -> None:
    """The demo prints an open survey link and its QR code; the code decodes to the link,
    and the link's answers are the till's scores."""
    import zxingcpp
    from PIL import Image

    keys = {"REVIEWKIT_LINK_KEYS": "k1:a-long-random-secret-0123456789"}
    result = run_cli("demo", "--recipients", "3", "--outbox", "out", cwd=tmp_path, env=keys)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    at = lines.index("open survey link at the Kraków till (6 answers so far):")
    url = lines[at + 1].strip()
    assert url.startswith("https://sklep.example/opinie/s/")
    (code,) = zxingcpp.read_barcodes(Image.open(tmp_path / "out-till-qr.png"))
    assert code.text == url
    signer = rk.LinkSigner({"k1": "a-long-random-secret-0123456789"})
    with rk.SQLiteStore(tmp_path / "reviewkit.sqlite3") as store:
        answers = rk.AnswerService(store, rk.SystemClock(), signer)
        assert answers.open_page(url.rsplit("/", 1)[1]).request.recipient.segment == "Kraków"
        till = store.get_campaign("demo-till")
        (row,) = rk.ScoreService(store).scores(
            rk.SurveyType.NPS, by="segment", min_sample=1, campaign_id=till.id
        )
        assert (row.group, row.score.n) == ("Kraków", 6)


def test_demo_twice_replaces_the_first_run(tmp_path: Path) -> None:
    """Running the demo again replaces its campaign and messages instead of failing."""
    assert run_cli("demo", "--recipients", "5", cwd=tmp_path).returncode == 0
    first = set(mailbox.Maildir(tmp_path / "reviewkit-outbox", create=False).iterkeys())
    assert first
    again = run_cli("demo", "--recipients", "7", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    everything = _messages(tmp_path / "reviewkit-outbox")
    with SQLiteStore(tmp_path / "reviewkit.sqlite3") as store:
        campaign = store.get_campaign("demo")
        assert sum(store.count_requests(campaign.id).values()) == 7
    ours = [m for m in everything if m["X-Reviewkit-Campaign"] == campaign.id]
    assert f"{len(ours)} messages in Maildir" in again.stdout
    assert len(ours) >= 7  # requests and reminders of the second run
    care = [m for m in everything if m["To"] == "opieka@sklep.example"]
    assert len(everything) == len(ours) + len(care)
    # Nothing of the first run is left: neither its requests nor its alerts to care.
    assert not first & set(mailbox.Maildir(tmp_path / "reviewkit-outbox").iterkeys())


def test_campaign_driven_from_the_shell(tmp_path: Path) -> None:
    """create, add-recipient, schedule, show, dispatch, with state kept in --db."""
    (tmp_path / "body.txt").write_text("Hello {{ recipient.name }}", encoding="utf-8")
    db = ["--db", str(tmp_path / "shop.sqlite3")]
    steps = [
        [
            "campaign",
            "create",
            "--name",
            "spring",
            "--from",
            "shop@example.com",
            "--subject",
            "How was it?",
            "--body-file",
            "body.txt",
            "--timezone",
            "Europe/Warsaw",
            "--start",
            "2020-01-01T00:00",
            *db,
        ],
        [
            "campaign",
            "add-recipient",
            "spring",
            "--email",
            "ala@example.com",
            "--recipient-name",
            "Ala",
            *db,
        ],
        ["campaign", "schedule", "spring", *db],
        ["campaign", "pause", "spring", *db],
        ["campaign", "resume", "spring", *db],
        ["dispatch", "--outbox", "out", "--until-idle", "--max-wait", "0s", *db],
    ]
    for step in steps:
        result = run_cli(*step, cwd=tmp_path)
        assert result.returncode == 0, (step, result.stderr)
    shown = run_cli("campaign", "show", "spring", "--format", "json", *db, cwd=tmp_path)
    data = json.loads(shown.stdout)
    assert data["status"] == "completed"
    assert data["counts"]["sent"] == 1
    assert len(mailbox.Maildir(tmp_path / "out", create=False)) == 1


def test_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    """A bad value prints what is wrong on stderr and exits 1; nothing is created."""
    db = ["--db", str(tmp_path / "x.sqlite3")]
    result = run_cli(
        "campaign", "create", "--name", "x", "--timezone", "Mars/Base", *db, cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stderr.startswith("reviewkit: error: unknown time zone 'Mars/Base'")
    missing = run_cli("campaign", "show", "x", *db, cwd=tmp_path)
    assert missing.returncode == 1
    assert "no campaign" in missing.stderr


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    """--help works on every command and names --db."""
    for argv in (
        ["demo"],
        ["campaign", "create"],
        ["campaign", "show"],
        ["dispatch"],
        ["import"],
        ["requests", "list"],
        ["requests", "export"],
        ["request", "send"],
    ):
        with pytest.raises(SystemExit) as info:
            main([*argv, "--help"])
        assert info.value.code == 0
        assert "--db" in capsys.readouterr().out


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("2m", 120), ("1h", 3600), ("45", 45)])
def test_interval_parsing(text: str, seconds: int) -> None:
    """Intervals read as a user writes them."""
    assert parse_interval(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["fast", "1.5s", "-3s", "10 parsecs"])
def test_bad_interval_is_refused(text: str) -> None:
    """A malformed interval is a ValidationError quoting it."""
    with pytest.raises(rk.ValidationError, match="interval"):
        parse_interval(text)


def test_sms_and_unsubscribe_links_from_the_shell(tmp_path: Path) -> None:
    """An SMS campaign goes to the SMS outbox; an e-mail one carries a signed unsubscribe link."""
    (tmp_path / "sms.txt").write_text("Oceń zakup {{ recipient.transaction_id }}", encoding="utf-8")
    (tmp_path / "mail.txt").write_text("Hi! {{ links.unsubscribe }}", encoding="utf-8")
    db = ["--db", str(tmp_path / "db.sqlite3")]
    steps = [
        [
            "campaign",
            "create",
            "--name",
            "sms",
            "--channel",
            "sms",
            "--from",
            "SKLEP",
            "--body-file",
            "sms.txt",
            "--default-region",
            "PL",
            "--max-sms-segments",
            "1",
            "--start",
            "2020-01-01T00:00",
            *db,
        ],
        ["campaign", "add-recipient", "sms", "--phone", "500 100 200", "--transaction", "Z1", *db],
        ["campaign", "schedule", "sms", *db],
        [
            "campaign",
            "create",
            "--name",
            "mail",
            "--from",
            "shop@example.com",
            "--subject",
            "Hi",
            "--body-file",
            "mail.txt",
            "--unsubscribe-url",
            "https://shop.example/u?t={token}",
            "--start",
            "2020-01-01T00:00",
            *db,
        ],
        ["campaign", "add-recipient", "mail", "--email", "ala@example.com", *db],
        ["campaign", "schedule", "mail", *db],
    ]
    for step in steps:
        result = run_cli(*step, cwd=tmp_path)
        assert result.returncode == 0, (step, result.stderr)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reviewkit",
            "dispatch",
            "--outbox",
            "out",
            "--sms-outbox",
            "sms.jsonl",
            "--until-idle",
            "--max-wait",
            "0s",
            *db,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "REVIEWKIT_LINK_KEYS": "k1:" + "s" * 32},
    )
    assert result.returncode == 0, result.stderr
    (line,) = (tmp_path / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["to"] == "+48500100200"
    box = mailbox.Maildir(tmp_path / "out", create=False)
    (message,) = [box.get_message(key) for key in box.iterkeys()]
    assert message["List-Unsubscribe"].startswith("<https://shop.example/u?t=")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_requests_from_the_shell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Import with segment and consent columns, a request by hand, then list, search and
    export as the collection view does."""
    db = ["--db", str(tmp_path / "r.sqlite3")]
    source = tmp_path / "orders.csv"
    source.write_text(
        "email;order;phone;segment;zgoda na publikację;consent:marketing\n"
        "ala@example.com;Z-1;500 100 200;vip;tak;nie\n"
        "ola@example.com;Z-2;;regular;;yes\n"
        "ewa@example.com;Z-3;;vip;maybe;\n",
        encoding="utf-8",
    )
    assert (
        main(["import", str(source), "--campaign", "c", "--create", "--default-region", "PL", *db])
        == 3  # done, but a row was rejected
    )
    out = capsys.readouterr().out
    assert "3 rows: 2 accepted, 1 rejected" in out
    assert "consent:marketing" not in out
    assert "zgoda na publikację" in out
    assert main(["request", "send", "--campaign", "c", "--email", "jan@example.com",
                 "--transaction", "Z-9", "--consent", "publication=yes", *db]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["requests", "list", *db, "--format", "json"]) == 0  # the default view
    listed = json.loads(capsys.readouterr().out)["rows"]
    assert [r["transaction_id"] for r in listed] == ["Z-9", "Z-2", "Z-1"]
    ala = listed[2]
    assert (ala["phone"], ala["publication_consent"], ala["other_consents"]) == (
        "+48500100200", "yes", "marketing=no"
    )  # fmt: skip
    assert main(["requests", "list", *db, "--search", "+48 500-100-200"]) == 0
    table = capsys.readouterr().out
    assert "Z-1" in table
    assert "Z-2" not in table
    assert "page 1: 1 requests" in table
    assert main(["requests", "list", *db, "--segment", "vip", "--format", "json"]) == 0
    assert [r["transaction_id"] for r in json.loads(capsys.readouterr().out)["rows"]] == ["Z-1"]
    assert main(["requests", "list", *db, "--page-size", "25", "--page", "2"]) == 0
    assert "page 2: 0 requests" in capsys.readouterr().out
    out_csv = tmp_path / "view.csv"
    assert main(["requests", "export", *db, "--category", "all", "--output", str(out_csv)]) == 0
    assert "3 requests written" in capsys.readouterr().out
    exported = out_csv.read_text(encoding="utf-8-sig").splitlines()
    assert exported[0].startswith("transaction_id,email,phone")
    assert len(exported) == 4
    assert main(["request", "send", "--campaign", "c", "--email", "x@example.com",
                 "--transaction", "Z-9", *db]) == 1  # fmt: skip
    assert "already has a email request for transaction 'Z-9'" in capsys.readouterr().err


def test_progress_bar() -> None:
    from reviewkit.cli import progress_bar
    from reviewkit.services.importer import ImportProgress

    assert progress_bar(ImportProgress(5_000, 50, 200), width=8) == "[##......]  25%  5,000 rows"
    assert progress_bar(ImportProgress(1_000, 10, None)) == "1,000 rows read"


def test_scores_from_the_shell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`reviewkit scores` prints a table, CSV or JSON of the scores in the database."""
    from datetime import UTC, datetime

    from reviewkit.adapters.sqlite import SQLiteStore

    path = tmp_path / "s.sqlite3"
    with SQLiteStore(path) as store:
        campaign = store.add_campaign(rk.Campaign(name="c"))
        at = datetime(2026, 11, 23, 9, tzinfo=UTC)
        for n in range(12):
            add_answer(
                store,
                campaign.id,
                f"c{n}@example.com",
                score=10 if n < 9 else 2,
                at=at + timedelta(days=7 * (n % 2)),
                segment="vip",
            )
    db = ["--db", str(path)]
    argv = ["scores", "--by", "segment", "--period", "week", "--timezone", "Europe/Warsaw"]
    assert main([*argv, *db, "--format", "json", "--min-sample", "5"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["period"], r["group"], r["n"], r["score"]) for r in rows] == [
        ("2026-W48", "vip", 6, 66.7),
        ("2026-W49", "vip", 6, 33.3),
    ]
    assert all(r["low"] <= r["score"] <= r["high"] for r in rows)
    assert main([*argv, *db]) == 0
    table = capsys.readouterr().out
    header = ["type", "period", "group", "n", "score", "low", "high", "mean", "note"]
    assert table.splitlines()[0].split() == header
    assert "too few answers" in table  # 6 answers, under the default 30
    assert main(["scores", "--type", "csat", *db, "--format", "csv"]) == 0
    assert capsys.readouterr().out.strip() == "type,period,group,n,score,low,high,mean,note"
    assert main(["scores", "--by", "colour", *db]) == 1
    assert "cannot group scores by 'colour'" in capsys.readouterr().err


def test_always_on_campaign_and_reopen_from_the_shell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--mode always-on` is stored and shown; a completed campaign reopens as a draft."""
    db = ["--db", str(tmp_path / "rk.sqlite3")]
    body = tmp_path / "body.txt"
    body.write_text("Hello {{ recipient.name }}", encoding="utf-8")
    common = ["--from", "shop@example.com", "--subject", "Hi", "--body-file", str(body)]
    assert (
        main(["campaign", "create", "--name", "orders", "--mode", "always-on", *common, *db]) == 0
    )
    capsys.readouterr()
    assert main(["campaign", "show", "orders", "--format", "json", *db]) == 0
    assert json.loads(capsys.readouterr().out)["mode"] == "always_on"
    assert main(["campaign", "create", "--name", "once", *common, *db]) == 0
    store = SQLiteStore(tmp_path / "rk.sqlite3")
    once = store.get_campaign("once")
    store.save_campaign(once.apply(rk.CampaignEvent.SCHEDULE).apply(rk.CampaignEvent.COMPLETE))
    store.close()
    capsys.readouterr()
    assert main(["campaign", "reopen", "once", *db]) == 0
    assert "is draft" in capsys.readouterr().out
    assert main(["campaign", "show", "once", *db]) == 0
    assert "mode       one-off" in capsys.readouterr().out


def test_only_the_command_being_run_is_configured() -> None:
    """`reviewkit --help` lists every command without loading their modules; running one
    loads its own only; the full parser has the same commands, with the same help lines."""
    import subprocess
    import sys

    from reviewkit.cli import _parser

    probe = (
        "import sys; from reviewkit.cli import _parser; _parser(sys.argv[1:]); "
        "print(','.join(sorted(m for m in sys.modules if m.startswith('reviewkit.cli_'))))"
    )

    def loaded(*argv: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    assert loaded("--help") == ""
    assert loaded("events", "record", "--help") == "reviewkit.cli_events"
    assert loaded("alerts", "list") == "reviewkit.cli_alerts"
    lazy = _parser(["--help"])._subparsers._group_actions[0]  # type: ignore[union-attr]
    full = _parser(full=True)._subparsers._group_actions[0]  # type: ignore[union-attr]
    assert list(lazy.choices) == list(full.choices)
    helps = {a.dest: a.help for a in lazy._choices_actions}
    assert helps == {a.dest: a.help for a in full._choices_actions}
