"""The ``reviewkit`` command line: the services, for operators and shell scripts.

Every command takes ``--db PATH`` (default ``$REVIEWKIT_DB``, else ``reviewkit.sqlite3`` in
the working directory) and ``--busy-timeout SECONDS``. Commands that only read open the
database read-only and refuse a file that does not exist. Errors print one line to standard
error and exit with status 1; usage errors exit with 2; an import that rejected rows and a
dispatch in which requests failed exit with 3; Ctrl-C exits with 130, SIGTERM with 143.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from reviewkit import __version__
from reviewkit.domain.campaign import SENDING_CHANNELS, Campaign, CampaignMode, Channel, Reminder
from reviewkit.domain.consent import Consent, parse_yes_no
from reviewkit.domain.permissions import Actor
from reviewkit.domain.request import Recipient, RequestCategory, RequestStatus
from reviewkit.domain.scoring import Period
from reviewkit.domain.survey import Survey, SurveyType
from reviewkit.domain.window import WEEKDAY_NAMES, HolidayCalendar, SendWindow, load_zone
from reviewkit.errors import ConfigurationError, ReviewkitError, ValidationError

if TYPE_CHECKING:  # imported where used, so that `reviewkit --help` starts quickly
    from reviewkit.adapters.accounts import SenderAccount
    from reviewkit.adapters.mime import MessageHook
    from reviewkit.adapters.relational import RelationalStore
    from reviewkit.demo import DemoResult
    from reviewkit.domain.collection import RequestQuery
    from reviewkit.domain.tokens import LinkSigner
    from reviewkit.ports import Chore, Store, Transport
    from reviewkit.services.campaigns import CampaignService
    from reviewkit.services.dispatch import DispatchReport
    from reviewkit.services.importer import ImportProgress
    from reviewkit.services.scores import ScoreRow

__all__ = ["main", "open_store", "parse_interval", "parse_start", "print_table"]

DEFAULT_DB = "reviewkit.sqlite3"
DB_ENV = "REVIEWKIT_DB"
EXIT_PARTLY = 3
"""The exit status of a command that did its work but not all of it went through: an import
that rejected rows, a dispatch in which requests failed."""
LINK_KEYS_ENV = "REVIEWKIT_LINK_KEYS"
_INTERVAL_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
_UNITS = {None: 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def print_table(table: Sequence[Sequence[str]]) -> None:
    """Print rows of cells as aligned columns (the first row is the header)."""
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def parse_interval(text: str) -> timedelta:
    """Parse ``"30s"``, ``"2m"``, ``"1h"`` or plain seconds into a whole-second duration.

    :raises ValidationError: on anything else.
    """
    match = _INTERVAL_RE.match(text)
    if match is None:
        raise ValidationError(f"interval {text!r}: write a number with s, m, h or d, like 30s")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds != int(seconds):
        raise ValidationError(f"interval {text!r} is not a whole number of seconds")
    return timedelta(seconds=int(seconds))


def parse_start(text: str, timezone: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"start {text!r} is not an ISO date-time like 2026-12-01T09:00"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=load_zone(timezone))
    return value


_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The object ``add_subparsers()`` returns, where each command group adds its parsers."""


_COMMANDS: dict[str, tuple[str, str]] = {
    # command: (its line in `reviewkit --help`, "module:function" that configures it)
    "demo": ("run a sample campaign to completion on a simulated clock", "cli:_configure_demo"),
    "campaign": ("create and steer campaigns", "cli:_configure_campaign"),
    "dispatch": ("send what is due, as one worker", "cli:_configure_dispatch"),
    "import": ("add recipients from a CSV file", "cli:_configure_import"),
    "qr": ("write a QR code leading to a URL", "cli:_configure_qr"),
    "link": ("print a request's signed answer or unsubscribe link", "cli:_configure_link"),
    "survey-link": (
        "print an open survey link for a location (a QR code at the till, a kiosk)",
        "cli:_configure_link",
    ),
    "requests": ("the collection view: list and export", "cli:_configure_requests"),
    "request": ("a single request", "cli:_configure_request"),
    "scores": ("NPS, CSAT and CES by group and period", "cli:_configure_scores"),
    "accounts": ("sender accounts", "cli:_configure_accounts"),
    "alerts": ("alert rules, alerts, silences, notifications", "cli_alerts:configure_alerts"),
    "tasks": ("follow-up tasks", "cli_alerts:configure_tasks"),
    "classify": (
        "give a request an outcome and run its follow-up actions",
        "cli_alerts:configure_classify",
    ),
    "suppress": ("addresses never to send to", "cli_suppress:configure_suppress"),
    "answers": ("survey answers: list and export", "cli_answers:configure_answers"),
    "report": ("scheduled personalised reports", "cli_reports:configure_reports"),
    "bounces": ("bounces and complaints from a mailbox", "cli_events:configure_events"),
    "events": ("delivery events from providers", "cli_events:configure_events"),
    "contact": ("a contact's data (data-protection requests)", "cli_contact:configure_contact"),
    "reviews": ("moderate and publish reviews", "cli_reviews:configure_reviews"),
    "retention": ("keep data only as long as needed", "cli_retention:configure_retention"),
    "trigger": (
        "trigger rules: events from your system that queue survey requests",
        "cli_triggers:configure_triggers",
    ),
    "event": ("report an event from your system", "cli_triggers:configure_triggers"),
}
"""Every command, in the order ``reviewkit --help`` lists them. Only the command being run
is configured (its module imported): the others are listed by name and help line, so a
command starts without loading what the rest need."""


def command_help(name: str) -> str:
    """The line ``reviewkit --help`` shows for command *name*."""
    return _COMMANDS[name][0]


def _parser(argv: Sequence[str] | None = None, *, full: bool = False) -> argparse.ArgumentParser:
    """The command line's parser: with every command configured when *full*, else only the
    one *argv* names (the others listed by name, enough for ``--help`` and for a mistyped
    command's error)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        default=os.environ.get(DB_ENV) or DEFAULT_DB,
        metavar="PATH",
        help=f"SQLite database (${DB_ENV}, else {DEFAULT_DB})",
    )
    common.add_argument(
        "--busy-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for another process's write lock (30)",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log what is done (-v: info, -vv: debug); warnings and errors are always logged",
    )
    common.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], help="instead of -v"
    )
    common.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="json: one object per line (time, level, logger, message) for a log collector",
    )
    parser = argparse.ArgumentParser(
        prog="reviewkit", description="Plan and send review and survey requests."
    )
    parser.add_argument("--version", action="version", version=f"reviewkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((a for a in (sys.argv[1:] if argv is None else argv) if a[:1] != "-"), None)
    # A function may configure several commands (bounces and events): all of them, or none.
    wanted = {where for name, (_, where) in _COMMANDS.items() if full or name == chosen}
    for name, (text, where) in _COMMANDS.items():
        if name in commands.choices:
            continue  # configured along with another command of its function
        if where in wanted:
            module, function = where.split(":")
            getattr(importlib.import_module(f"reviewkit.{module}"), function)(commands, common)
        else:
            commands.add_parser(name, help=text)
    return parser


def _configure_demo(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``demo`` command."""
    demo = commands.add_parser(
        "demo",
        parents=[common],
        help=command_help("demo"),
        description="Run a sample NPS campaign's whole loop on a simulated clock (Europe/Warsaw, "
        "Mon-Fri 09:00-17:00, Polish holidays, 30 s interval): send into a Maildir, let "
        "simulated customers answer through the answer page, remind the silent ones, alert "
        "customer care of angry customers, print the scores by store and week.",
    )
    demo.add_argument("--outbox", default="reviewkit-outbox", metavar="DIR", help="Maildir folder")
    demo.add_argument("--recipients", type=int, default=300, metavar="N", help="how many (300)")
    demo.add_argument(
        "--serve",
        action="store_true",
        help="then serve the answer page on 127.0.0.1 so the links in the Maildir work "
        "(until Ctrl-C)",
    )
    demo.add_argument(
        "--port", type=int, default=8025, help="the answer page's port on 127.0.0.1 (8025)"
    )
    demo.set_defaults(handler=_demo)


def _configure_campaign(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``campaign`` command group."""
    campaign = commands.add_parser("campaign", help=command_help("campaign"))
    actions = campaign.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", parents=[common], help="create a draft campaign")
    create.add_argument("--name", required=True)
    _add_campaign_settings(create, editing=False)
    create.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="json: the campaign's settings as `campaign show --format json` has them",
    )
    create.set_defaults(handler=_campaign_create)
    edit = actions.add_parser(
        "edit",
        parents=[common],
        help="change a campaign's settings (those given; not once completed or cancelled)",
        description="Change the settings given, keep the others. A sending campaign takes "
        "the change from its next message; a completed or cancelled one is read-only.",
    )
    edit.add_argument("name", metavar="NAME")
    _add_campaign_settings(edit, editing=True)
    edit.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="json: the campaign's settings after the edit",
    )
    edit.set_defaults(handler=_campaign_edit)

    listing = actions.add_parser(
        "list", parents=[common], help="every campaign: status, counts, next due request"
    )
    listing.add_argument("--format", choices=["table", "json"], default="table")
    listing.set_defaults(handler=_campaign_list)
    retry = actions.add_parser(
        "retry-failed", parents=[common], help="send failed requests again (all, or some)"
    )
    retry.add_argument("name", metavar="NAME")
    retry.add_argument(
        "--request", action="append", default=[], metavar="ID", help="only this one (repeatable)"
    )
    retry.set_defaults(handler=_campaign_retry)
    test_send = actions.add_parser(
        "test-send",
        parents=[common],
        help="send the campaign's message to yourself, marked [TEST]",
        description="Render the campaign for a sample recipient and send it to --to, with "
        "[TEST] before the subject. No request is created or changed.",
    )
    test_send.add_argument("name", metavar="NAME")
    test_send.add_argument("--to", required=True, metavar="ADDRESS", help="your e-mail address")
    through = test_send.add_mutually_exclusive_group(required=True)
    through.add_argument("--outbox", metavar="DIR", help="write the message into this Maildir")
    add_email_options(through)
    add_dkim_option(test_send)
    test_send.set_defaults(handler=_campaign_test_send)
    for name, verb in (
        ("show", "show settings, counts and why requests failed"),
        ("delete", "delete a campaign and all its requests"),
        ("schedule", "schedule a draft"),
        ("pause", "pause sending"),
        ("resume", "resume a paused or failed campaign"),
        ("cancel", "cancel for good"),
        ("reopen", "make a completed campaign a draft again, to add requests"),
    ):
        sub = actions.add_parser(name, parents=[common], help=verb)
        sub.add_argument("name", metavar="NAME")
        if name == "show":
            sub.add_argument("--format", choices=["text", "json"], default="text")
        if name == "schedule":
            sub.add_argument("--start", metavar="ISO-DATETIME", help="from this time on")
        sub.set_defaults(handler=_campaign_action)

    add = actions.add_parser("add-recipient", parents=[common], help="add one recipient")
    add.add_argument("name", metavar="NAME")
    who = add.add_mutually_exclusive_group(required=True)
    who.add_argument("--email")
    who.add_argument("--phone")
    add.add_argument("--recipient-name", dest="recipient_name")
    add.add_argument("--transaction")
    add.add_argument("--timezone")
    add.set_defaults(handler=_campaign_add_recipient)


def _add_campaign_settings(parser: argparse.ArgumentParser, *, editing: bool) -> None:
    """The settings ``campaign create`` takes and ``campaign edit`` changes (when
    *editing*, an option not given is absent from the namespace: it keeps its value)."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if editing else value

    add = parser.add_argument
    add("--channel", choices=[c.value for c in SENDING_CHANNELS], default=default("email"))
    add(
        "--mode",
        choices=["one-off", "always-on"],
        default=default("one-off"),
        help="one-off completes once everything is sent; always-on keeps accepting requests "
        "until cancelled (one-off)",
    )
    add("--from", dest="sender", metavar="ADDRESS", default=default(None), help="sender account")
    add("--subject", default=default(""), help="subject template")
    add("--body-file", type=Path, metavar="F", default=default(None), help="plain-text body")
    add("--html-file", type=Path, metavar="F", default=default(None), help="HTML body template")
    add("--timezone", default=default("UTC"), metavar="TZ", help="IANA zone (UTC)")
    add("--days", default=default("mon-sun"), help="sending days, e.g. mon-fri")
    add("--hours", default=default("00:00-24:00"), help="sending hours, e.g. 09:00-17:00")
    add(
        "--holidays",
        metavar="CC[-SUB]",
        default=default(None),
        help="public holidays, e.g. PL or DE-BY" + ("; 'none' for none" if editing else ""),
    )
    add("--interval", default=default("0s"), help="minimum gap between messages, e.g. 30s")
    add("--start", metavar="ISO-DATETIME", default=default(None), help="earliest send time")
    add("--send-delay", default=default("0s"), help="hold each request this long, e.g. 10m")
    add("--unsubscribe-url", metavar="URL", default=default(None), help="https://…?t={token}")
    add("--default-region", metavar="CC", default=default(None), help="for phone numbers, e.g. PL")
    add(
        "--max-sms-segments",
        type=int,
        metavar="N",
        default=default(None),
        help="cap on SMS length",
    )
    add(
        "--public-review",
        action=argparse.BooleanOptionalAction if editing else "store_true",
        default=default(False),
        help="the requests invite a public review (Google, Trustpilot): sent to every "
        "customer alike, never gated on a score",
    )
    survey = parser.add_argument_group("survey requests (NPS, CSAT, CES)")
    survey.add_argument(
        "--survey", choices=[t.value for t in SurveyType], default=default(None), help="the type"
    )
    survey.add_argument(
        "--answer-url",
        metavar="URL",
        default=default(None),
        help="the answer page, with {token}: https://…?t={token}",
    )
    survey.add_argument(
        "--privacy-url", metavar="URL", default=default(None), help="the privacy policy (https)"
    )
    survey.add_argument(
        "--expiry-days", type=int, default=default(7), metavar="N", help="answers taken (7)"
    )
    survey.add_argument("--survey-title", default=default(""), metavar="TEXT")
    survey.add_argument("--survey-language", choices=["en", "pl"], default=default("en"))
    reminders = parser.add_argument_group("reminders for requests nobody answered")
    reminders.add_argument(
        "--reminder",
        metavar="WAIT",
        default=default(None),
        help="wait before each reminder, e.g. 3d" + ("; 'off' for none" if editing else ""),
    )
    reminders.add_argument(
        "--reminders", type=int, default=default(1), metavar="N", help="at most (1)"
    )


def _configure_dispatch(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``dispatch`` command."""
    from reviewkit.cli_alerts import add_alert_options

    dispatch = commands.add_parser("dispatch", parents=[common], help=command_help("dispatch"))
    where = dispatch.add_mutually_exclusive_group(required=True)
    where.add_argument("--outbox", metavar="DIR", help="write messages into this Maildir")
    add_email_options(where)
    add_dkim_option(dispatch)
    dispatch.add_argument(
        "--until-idle", action="store_true", help="exit once nothing is due within --max-wait"
    )
    dispatch.add_argument("--max-wait", default="60s", help="with --until-idle (60s)")
    dispatch.add_argument(
        "--format", choices=["text", "json"], default="text", help="of the closing summary"
    )
    dispatch.add_argument(
        "--poll",
        default="5s",
        help="how long to sleep when nothing is scheduled (5s); on PostgreSQL a new request "
        "wakes the worker at once",
    )
    dispatch.add_argument("--worker-id", metavar="ID", help="name in claims (hostname:pid)")
    dispatch.add_argument("--sms-gateway", metavar="URL", help="post SMS as JSON to this URL")
    dispatch.add_argument("--sms-outbox", type=Path, metavar="FILE", help="write SMS to a file")
    dispatch.add_argument(
        "--link-keys-env",
        default=LINK_KEYS_ENV,
        metavar="NAME",
        help=f"variable holding link keys as id:secret[,id:secret] ({LINK_KEYS_ENV}); "
        "the first signs, all verify",
    )
    dispatch.add_argument(
        "--lease", default="5m", help="how long a claim lasts before others may take it (5m)"
    )
    dispatch.add_argument(
        "--batch-size", type=int, default=100, metavar="N", help="claims per pass (100)"
    )
    dispatch.add_argument(
        "--record-every",
        type=int,
        default=10,
        metavar="N",
        help="record outcomes in groups of at most N sends, none older than 0.2 s (10); "
        "after a kill at most those repeat; 1 records each send before the next",
    )
    dispatch.add_argument(
        "--retention",
        action="store_true",
        help="also purge, once a day, what is past its time by the default retention "
        "(personal data 3 years, comments 2, engagement times 1; see `retention purge`)",
    )
    dispatch.add_argument(
        "--quiet",
        action="store_true",
        help="no progress lines on standard error (the closing summary stays)",
    )
    add_alert_options(dispatch)
    dispatch.set_defaults(handler=_dispatch)


def _configure_import(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``import`` command."""
    imp = commands.add_parser(
        "import",
        parents=[common],
        help=command_help("import"),
        description="Add recipients from a CSV file to a campaign (with --create, a campaign "
        "that does not exist is created as a draft). Every row is checked; rejected rows can "
        "be written to --errors. A file that cannot be read changes nothing.",
    )
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.add_argument("--campaign", required=True, metavar="NAME")
    imp.add_argument(
        "--create", action="store_true", help="create the campaign as a draft if there is none"
    )
    imp.add_argument("--encoding", metavar="ENC", help="e.g. cp1250 (detected when not given)")
    imp.add_argument("--delimiter", metavar="C", help="; , or tab (sniffed when not given)")
    imp.add_argument("--default-region", metavar="CC", help="for phone numbers, e.g. PL")
    imp.add_argument("--errors", type=Path, metavar="OUT.csv", help="write rejected rows here")
    imp.add_argument("--format", choices=["text", "json"], default="text", help="of the summary")
    imp.add_argument(
        "--field-type",
        action="append",
        default=[],
        metavar="COLUMN=TYPE",
        help="check a column as pesel, nip or regon (repeatable)",
    )
    imp.set_defaults(handler=_import)


def _configure_qr(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``qr`` command."""
    qr = commands.add_parser(
        "qr",
        help=command_help("qr"),
        description="Write a QR code for URL, e.g. a shop's review page with a signed token.",
    )
    qr.add_argument("url", metavar="URL")
    qr.add_argument("--output", required=True, type=Path, metavar="FILE", help=".svg or .png")
    qr.add_argument("--scale", type=int, default=8, help="pixels per module (8)")
    qr.add_argument("--error", default="m", choices=["l", "m", "q", "h"], help="correction (m)")
    qr.set_defaults(handler=_qr)


def _configure_link(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``link`` command."""
    link = commands.add_parser(
        "link",
        parents=[common],
        help=command_help("link"),
        description="Print the signed link a request's message carries (for `reviewkit qr`, "
        "a test, or a customer who lost the message), signed with the keys in "
        f"${LINK_KEYS_ENV} (or the variable --link-keys-env names).",
    )
    link.add_argument("request", metavar="REQUEST_ID")
    link.add_argument("--purpose", choices=["answer", "unsubscribe"], default="answer")
    link.add_argument("--score", metavar="N", help="an answer link that records this score")
    link.add_argument("--link-keys-env", default=LINK_KEYS_ENV, metavar="NAME")
    link.set_defaults(handler=_link)
    survey_link = commands.add_parser(
        "survey-link",
        parents=[common],
        help=command_help("survey-link"),
        description="Print a signed open survey link: anyone with it answers the campaign's "
        "survey, recorded with the location as the segment. Encode it with `reviewkit qr`.",
    )
    survey_link.add_argument("campaign", metavar="CAMPAIGN")
    survey_link.add_argument("--location", required=True, metavar="NAME", help="e.g. krk-1")
    survey_link.add_argument(
        "--url",
        metavar="TEMPLATE",
        help="the answer page's open-link address with {token}, e.g. "
        "https://shop.example/feedback/s/{token} (default: the campaign's answer URL "
        "with /a/ changed to /s/)",
    )
    survey_link.add_argument(
        "--days", type=int, default=366, metavar="N", help="how long it works (366)"
    )
    survey_link.add_argument("--link-keys-env", default=LINK_KEYS_ENV, metavar="NAME")
    survey_link.set_defaults(handler=_survey_link)


def _configure_requests(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``requests`` command group."""
    requests = commands.add_parser("requests", help=command_help("requests"))
    views = requests.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = views.add_parser(
        "list",
        parents=[common],
        help="one page of requests, newest first",
        description="List requests as the collection view shows them. Without any filter: "
        "pending requests scheduled in the last 7 days.",
    )
    _add_view_filters(listing)
    listing.add_argument("--page", type=int, default=1, metavar="N", help="page number (1)")
    listing.add_argument(
        "--page-size", type=int, default=50, choices=[25, 50, 100], help="rows per page (50)"
    )
    listing.add_argument("--format", choices=["table", "json"], default="table")
    listing.set_defaults(handler=_requests_list)
    export = views.add_parser(
        "export",
        parents=[common],
        help="every request of the filters, to CSV",
        description="Write the requests the filters select to a CSV file (UTF-8 with BOM), "
        "formula-like cells neutralised for spreadsheets.",
    )
    _add_view_filters(export)
    export.add_argument("--output", required=True, type=Path, metavar="FILE.csv")
    export.set_defaults(handler=_requests_export)


def _configure_request(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``request`` command group."""
    request = commands.add_parser("request", help=command_help("request"))
    request_actions = request.add_subparsers(dest="action", required=True, metavar="ACTION")
    send = request_actions.add_parser(
        "send",
        parents=[common],
        help="request one review by hand",
        description="Queue one request for a transaction, now or at --at (the campaign is "
        "created as a draft if it does not exist; it is sent once the campaign is scheduled).",
    )
    send.add_argument("--campaign", required=True, metavar="NAME")
    contact = send.add_mutually_exclusive_group(required=True)
    contact.add_argument("--email")
    contact.add_argument("--phone")
    send.add_argument("--transaction", required=True, metavar="T")
    send.add_argument("--at", metavar="ISO", help="send no earlier than this date-time")
    send.add_argument("--recipient-name", dest="recipient_name")
    send.add_argument("--segment")
    send.add_argument(
        "--consent",
        action="append",
        default=[],
        metavar="NAME=yes|no",
        help="a consent and whether it was given (repeatable)",
    )
    send.add_argument("--timezone", default="UTC", help="for --at without an offset (UTC)")
    send.set_defaults(handler=_request_send)


def _configure_scores(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``scores`` command."""
    scores = commands.add_parser(
        "scores",
        parents=[common],
        help=command_help("scores"),
        description="Print scores with their sample size and 95%% confidence interval, by a "
        "dimension (segment, channel, campaign, field:NAME) and a period on a time zone's "
        "calendar. Groups under --min-sample answers are marked too small.",
    )
    scores.add_argument(
        "--type", action="append", default=[], choices=[t.value for t in SurveyType]
    )
    scores.add_argument("--by", metavar="DIMENSION", help="segment, channel, campaign, field:NAME")
    scores.add_argument("--period", choices=[p.value for p in Period])
    scores.add_argument("--timezone", default="UTC", help="the periods' calendar (UTC)")
    scores.add_argument("--since", metavar="DATE")
    scores.add_argument("--until", metavar="DATE")
    scores.add_argument("--min-sample", type=int, default=30, metavar="N", help="(30)")
    scores.add_argument("--format", choices=["table", "csv", "json"], default="table")
    scores.set_defaults(handler=_scores)


def _configure_accounts(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``accounts`` command group."""
    accounts = commands.add_parser("accounts", help=command_help("accounts"))
    account_actions = accounts.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = account_actions.add_parser(
        "verify",
        parents=[common],
        help="connect, log in and send a test message",
        description="Connect to the account's server, log in and send a test message; on "
        "failure, say which stage failed (connect, tls, auth, sender, recipient, data).",
    )
    source = verify.add_mutually_exclusive_group(required=True)
    add_email_options(source)
    add_dkim_option(verify)
    verify.add_argument("--account", metavar="NAME", help="which account of --accounts (all)")
    verify.add_argument("--to", required=True, metavar="ADDRESS", help="where the test goes")
    verify.set_defaults(handler=_accounts_verify)


def _add_view_filters(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--since", metavar="DATE", help="from this date or date-time on")
    sub.add_argument("--until", metavar="DATE", help="before this date or date-time")
    sub.add_argument(
        "--date-field", choices=["scheduled", "sent"], default="scheduled", help="(scheduled)"
    )
    sub.add_argument("--segment", action="append", default=[], help="repeatable")
    sub.add_argument(
        "--category",
        action="append",
        default=[],
        choices=[c.value for c in RequestCategory] + ["all"],
        help="repeatable (pending when no filter is given)",
    )
    sub.add_argument("--channel", choices=[c.value for c in Channel])
    sub.add_argument("--campaign", metavar="NAME")
    sub.add_argument("--search", metavar="Q", help="e-mail, phone or transaction id")
    sub.add_argument("--default-region", default="PL", metavar="CC", help="for --search (PL)")
    sub.add_argument(
        "--timezone", default="UTC", help="dates are read, and times shown, in this zone (UTC)"
    )


def _view_query(args: argparse.Namespace, store: RelationalStore) -> RequestQuery:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.domain.collection import DateField, RequestQuery, parse_search

    chosen = (args.since, args.until, args.segment, args.category, args.channel, args.campaign)
    if not any(chosen) and args.search is None and args.date_field == "scheduled":
        return RequestQuery.default(SystemClock().now())
    categories = [] if "all" in args.category else args.category
    return RequestQuery(
        since=parse_start(args.since, args.timezone) if args.since else None,
        until=parse_start(args.until, args.timezone) if args.until else None,
        date_field=DateField(args.date_field),
        segments=args.segment,
        categories=categories,
        channels=[args.channel] if args.channel else [],
        campaign_id=store.get_campaign(args.campaign).id if args.campaign else None,
        search=parse_search(args.search, args.default_region) if args.search else None,
    )


def _requests_list(args: argparse.Namespace) -> int:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.domain.collection import export_row
    from reviewkit.services.collection import CollectionService

    zone = load_zone(args.timezone)
    with open_store(args, readonly=True) as store:
        view = CollectionService(store, SystemClock())
        query = _view_query(args, store)
        page = view.page_number(Actor.system(), query, args.page, page_size=args.page_size)
        names = view.campaign_names()
        rows = [export_row(d, zone, campaign=names(d.campaign_id)) for d in page.items]
    if args.format == "json":
        print(json.dumps({"page": args.page, "more": page.next_cursor is not None, "rows": rows}))
        return 0
    columns = [
        *("transaction_id", "email", "phone", "channel", "category", "opened", "answered"),
        *("scheduled_at", "sent_at", "publication_consent", "other_consents", "reason"),
    ]
    table = [[c.replace("_at", "").replace("_", " ") for c in columns]]
    table += [[_short(row[c], zone) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    more = "; more with --page " + str(args.page + 1) if page.next_cursor else ""
    print(f"page {args.page}: {len(rows)} requests{more}")
    return 0


def _short(cell: str, zone: tzinfo) -> str:
    """A time cell to the minute with its zone's abbreviation (CET, CEST), for the table."""
    if len(cell) >= 16 and cell[4:5] == "-" and cell[10:11] == "T":
        return datetime.fromisoformat(cell).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    return cell


def _requests_export(args: argparse.Namespace) -> int:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.services.collection import CollectionService

    with open_store(args, readonly=True) as store:
        view = CollectionService(store, SystemClock())
        count = view.export(
            Actor.system(), _view_query(args, store), args.output, zone=load_zone(args.timezone)
        )
    print(f"{count} requests written to {args.output}")
    return 0


def _request_send(args: argparse.Namespace) -> int:
    from reviewkit.adapters.clock import SystemClock

    consents = {}
    for item in args.consent:
        name, sep, value = item.partition("=")
        try:
            granted = parse_yes_no(value) if sep else None
        except ValidationError as exc:
            raise ValidationError(f"--consent {item!r}: {exc}; write NAME=yes or NAME=no") from exc
        if granted is None:
            raise ValidationError(f"--consent {item!r}: write NAME=yes or NAME=no")
        consents[name] = Consent(granted=granted, at=SystemClock().now(), source="reviewkit CLI")
    recipient = Recipient(
        email=args.email,
        phone=args.phone,
        name=args.recipient_name,
        transaction_id=args.transaction,
        segment=args.segment,
        consents=consents,
    )
    at = parse_start(args.at, args.timezone) if args.at else None
    store, service, actor = _open(args)
    with store:
        made = service.request(actor, args.campaign, recipient, at=at)
        campaign = service.get(actor, args.campaign)
    when = made.due_at.isoformat() if made.due_at else "as soon as the campaign sends"
    print(f"request {made.id} to {made.address} for {args.transaction}: {when}")
    if not campaign.active:
        print(f"campaign {campaign.name!r} is {campaign.status.value}: schedule it to send")
    return 0


_SCORE_COLUMNS = ("type", "period", "group", "n", "score", "low", "high", "mean", "note")


def _scores(args: argparse.Namespace) -> int:
    from reviewkit.services.scores import ScoreService

    load_zone(args.timezone)  # a zone that does not exist is an error even with no answers
    since = parse_start(args.since, args.timezone) if args.since else None
    until = parse_start(args.until, args.timezone) if args.until else None
    with open_store(args, readonly=True) as store:
        service = ScoreService(store)
        rows = []
        for kind in args.type or [t.value for t in SurveyType]:
            rows += service.scores(
                SurveyType(kind),
                by=args.by,
                period=args.period,
                timezone=args.timezone,
                since=since,
                until=until,
                min_sample=args.min_sample,
            )
    records = [_score_record(row) for row in rows]
    if args.format == "json":
        print(json.dumps(records, ensure_ascii=False))
        return 0
    if args.format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(_SCORE_COLUMNS)
        for record in records:
            writer.writerow(["" if record[c] is None else record[c] for c in _SCORE_COLUMNS])
        return 0
    if not records:
        print("no answers")
        return 0
    table = [list(_SCORE_COLUMNS)]
    table += [["" if r[c] is None else str(r[c]) for c in _SCORE_COLUMNS] for r in records]
    print_table(table)
    return 0


def _score_record(row: ScoreRow) -> dict[str, object]:
    score = row.score

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1 if row.kind is not SurveyType.CES else 2)

    return {
        "type": row.kind.value,
        "period": row.period,
        "group": row.group,
        "n": score.n,
        "score": rounded(score.value),
        "low": rounded(score.low),
        "high": rounded(score.high),
        "mean": None if score.mean is None else round(score.mean, 2),
        "note": "too few answers" if score.too_small else "",
    }


def add_dkim_option(parser: argparse.ArgumentParser) -> None:
    """``--dkim DOMAIN:SELECTOR:KEYFILE``: sign the e-mail sent over SMTP (repeatable)."""
    parser.add_argument(
        "--dkim",
        action="append",
        default=[],
        metavar="DOMAIN:SELECTOR:KEY.pem",
        help="sign messages from DOMAIN with this key (needs reviewkit[dkim]; repeatable)",
    )


def dkim_hooks(args: argparse.Namespace) -> list[MessageHook]:
    """The DKIM signer of the command's ``--dkim`` options (none without them)."""
    from reviewkit.adapters.dkim import DkimKey, DkimSigner

    if not getattr(args, "dkim", None):
        return []
    keys = []
    for item in args.dkim:
        parts = item.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise ValidationError(f"--dkim {item!r}: write DOMAIN:SELECTOR:KEY.pem")
        keys.append(DkimKey.from_file(parts[0], parts[1], parts[2]))
    return [DkimSigner(keys)]


def add_email_options(group: argparse._MutuallyExclusiveGroup) -> None:
    """``--smtp URL`` or ``--accounts FILE``: where e-mail goes (beside ``--outbox``)."""
    group.add_argument(
        "--smtp",
        metavar="URL",
        help="smtp://user@host:587?from=ADDRESS (password from $REVIEWKIT_SMTP_PASSWORD)",
    )
    group.add_argument("--accounts", type=Path, metavar="FILE", help="TOML file of accounts")


def _import(args: argparse.Namespace) -> int:
    from reviewkit.services.importer import import_csv

    types = {}
    for item in args.field_type:
        column, sep, kind = item.partition("=")
        if not sep:
            raise ValidationError(f"--field-type {item!r}: write COLUMN=pesel|nip|regon")
        types[column] = kind
    delimiter = "\t" if args.delimiter in ("tab", "\\t") else args.delimiter
    show = sys.stderr.isatty()

    def progress(done: ImportProgress) -> None:
        if show:
            print("\r" + progress_bar(done), end="", file=sys.stderr, flush=True)

    if not args.file.is_file():
        raise ValidationError(f"no such file: {args.file}")
    store, service, actor = _open(args)
    try:
        with store:
            result = import_csv(
                service,
                actor,
                args.campaign,
                args.file,
                encoding=args.encoding,
                delimiter=delimiter,
                default_region=args.default_region,
                field_types=types,
                errors_to=args.errors,
                progress=progress,
                create=args.create,
            )
    except KeyboardInterrupt as exc:
        if show:
            print(file=sys.stderr)
        return _stopped(
            exc,
            "import",
            "the rows stored so far stay, and running the same import again adds the rest",
        )
    if show:
        print(file=sys.stderr)
    if args.format == "json":
        summary = {
            "rows": result.rows,
            "accepted": result.accepted,
            "rejected": result.rejected,
            "duplicates": result.duplicates,
            "errors": [
                {"row": e.row, "column": e.column, "reason": e.reason} for e in result.errors
            ],
            "errors_file": str(args.errors) if result.rejected and args.errors else None,
        }
        print(json.dumps(summary, ensure_ascii=False))
        return EXIT_PARTLY if result.rejected else 0
    print(
        f"{result.rows} rows: {result.accepted} accepted, {result.rejected} rejected, "
        f"{result.duplicates} duplicates"
    )
    for error in result.errors[:10]:
        where = f"row {error.row}, {error.column}" if error.column else f"row {error.row}"
        print(f"  {where}: {error.reason}")
    if result.rejected and args.errors:
        print(f"rejected rows written to {args.errors}")
    return EXIT_PARTLY if result.rejected else 0


def progress_bar(done: ImportProgress, width: int = 30) -> str:
    """One line of an import's progress: a bar when the file size is known, else a count."""
    fraction = done.fraction
    if fraction is None:
        return f"{done.rows:,} rows read"
    filled = round(fraction * width)
    return f"[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%}  {done.rows:,} rows"


def _qr(args: argparse.Namespace) -> int:
    from reviewkit.adapters.qr import write_qr

    path = write_qr(args.url, args.output, scale=args.scale, error=args.error)
    print(f"QR code for {args.url} written to {path}")
    return 0


def _smtp_accounts(args: argparse.Namespace) -> tuple[list[SenderAccount], str | None]:
    from reviewkit.adapters.smtp import account_from_url, accounts_from_file

    if args.smtp:
        return [account_from_url(args.smtp)], None
    return accounts_from_file(args.accounts)


def _accounts_verify(args: argparse.Namespace) -> int:
    from reviewkit.adapters.smtp import AccountVerificationError, verify_account

    accounts, _ = _smtp_accounts(args)
    if args.account:
        accounts = [a for a in accounts if a.name == args.account]
        if not accounts:
            raise ValidationError(f"no account named {args.account!r}")
    hooks = dkim_hooks(args)
    failed = 0
    for account in accounts:
        try:
            signed = verify_account(account, args.to, hooks=hooks)
        except AccountVerificationError as exc:
            failed += 1
            print(f"{account.name}: FAILED at {exc.stage}: {exc.detail}", file=sys.stderr)
        else:
            print(f"{account.name}: ok, test message sent to {args.to}")
            if hooks:
                print(f"  DKIM: {signed or 'not signed (no key for the From domain)'}")
    return 1 if failed else 0


class _Stopped(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so every command unwinds as for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, frame: object) -> None:
    raise _Stopped(signum)


def _stopped(exc: KeyboardInterrupt, command: str, consequence: str | None = None) -> int:
    """Say which signal stopped *command* (and what that left); return the exit status."""
    signum = exc.signum if isinstance(exc, _Stopped) else signal.SIGINT
    line = f"reviewkit: {command} stopped by {signal.Signals(signum).name}"
    print(line + (f"; {consequence}" if consequence else ""), file=sys.stderr)
    return 128 + signum


class _JsonLines(logging.Formatter):
    """A log record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created)
            .astimezone()
            .isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _configure_logging(args: argparse.Namespace) -> None:
    """Log to standard error at the level the options ask for (warnings by default), as
    text or JSON lines; a host that configured logging itself keeps its own set-up."""
    root = logging.getLogger()
    if root.handlers:
        return
    verbose = getattr(args, "verbose", 0)
    level = getattr(args, "log_level", None) or ("debug" if verbose > 1 else
                                                  "info" if verbose else "warning")  # fmt: skip
    handler = logging.StreamHandler()
    if getattr(args, "log_format", "text") == "json":
        handler.setFormatter(_JsonLines())
    elif level in ("debug", "info"):
        handler.setFormatter(
            logging.Formatter("reviewkit: %(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    else:
        handler.setFormatter(logging.Formatter("reviewkit: %(levelname)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries' own chatter stays at warnings unless debugging.
    if level != "debug":
        for noisy in ("psycopg", "psycopg.pool", "aiosmtpd", "mail.log"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser(argv).parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    _configure_logging(args)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stop) if in_main else None
    try:
        return handler(args)
    except ReviewkitError as exc:
        print(f"reviewkit: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the environment: a full disk, a missing folder, permissions
        print(f"reviewkit: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        return _stopped(exc, args.command)
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def open_store(args: argparse.Namespace, *, readonly: bool = False) -> RelationalStore:
    """Open the database the command's ``--db`` and ``--busy-timeout`` name: a
    ``postgresql://`` URL opens the PostgreSQL store, anything else is a SQLite file.

    :raises ValidationError: a negative busy timeout.
    """
    from reviewkit.adapters.relational import redacted
    from reviewkit.adapters.sqlite import SQLiteStore

    if args.busy_timeout < 0:
        raise ValidationError("--busy-timeout must not be negative")
    if is_postgres_url(str(args.db)):
        try:
            from reviewkit.adapters.postgres import PostgresStore
        except ConfigurationError as exc:
            raise ConfigurationError(f"--db {redacted(str(args.db))}: {exc}") from None
        return PostgresStore(str(args.db), timeout=args.busy_timeout)
    return SQLiteStore(args.db, timeout=args.busy_timeout, readonly=readonly)


def is_postgres_url(db: str) -> bool:
    """Whether ``--db`` names a PostgreSQL database rather than a SQLite file."""
    return db.startswith(("postgresql://", "postgres://"))


def _open(
    args: argparse.Namespace, *, readonly: bool = False
) -> tuple[RelationalStore, CampaignService, Actor]:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.services.campaigns import CampaignService

    store = open_store(args, readonly=readonly)
    return store, CampaignService(store, SystemClock()), Actor.system()


def _demo(args: argparse.Namespace) -> int:
    import secrets as random_keys

    from reviewkit.adapters.relational import redacted
    from reviewkit.demo import run_demo
    from reviewkit.domain.secret import Secret
    from reviewkit.domain.tokens import LinkSigner

    if args.recipients < 1:
        raise ValidationError("--recipients must be at least 1")
    if not 1 <= args.port <= 65535:
        raise ValidationError(f"--port {args.port} is not a TCP port (1 to 65535)")
    kept = link_signer(LINK_KEYS_ENV)
    signer = kept or LinkSigner({"demo": Secret(random_keys.token_urlsafe(32))})
    base = f"http://127.0.0.1:{args.port}"
    with open_store(args) as store:
        result = run_demo(store, args.outbox, args.recipients, links=signer, answer_base=base)
        _print_demo(result)
        where = redacted(args.db) if is_postgres_url(args.db) else Path(args.db).resolve()
        print(f"  database {where}")
        ok = result.campaign.status.value == "completed" and not result.outside_window
        if args.serve:
            _serve_demo(store, signer, result, args.port, kept is None)
    return 0 if ok else 1


def _print_demo(result: DemoResult) -> None:
    from reviewkit.demo import DEMO_CARE

    campaign = result.campaign
    print(f"campaign {campaign.name!r}: {campaign.status.value}")
    print(
        f"  window: Mon-Fri 09:00-17:00 {campaign.timezone}, Polish public holidays, "
        f"one message every {int(campaign.interval.total_seconds())} s"
    )
    for status, count in result.counts.items():
        if count:
            print(f"  {status.value:<10} {count}")
    if result.first_sent and result.last_sent:
        print(f"  first sent {result.first_sent:%a %Y-%m-%d %H:%M:%S %Z}")
        print(f"  last sent  {result.last_sent:%a %Y-%m-%d %H:%M:%S %Z}")
    print(f"  sent outside the window: {result.outside_window}")
    print(f"  reminders: {result.reminders}")
    print(f"  {result.messages} messages in Maildir {result.outbox.resolve()}")
    print(
        f"customers answered {result.answers} through the answer page "
        f"({result.after_reminder} after the reminder); {result.unsubscribed} unsubscribed"
    )
    print(
        f"alerts fired: {len(result.alerts)} (told to customer care, {DEMO_CARE}, in the Maildir)"
    )
    print("NPS by store and week (Europe/Warsaw):")
    records = [_score_record(row) for row in result.scores]
    if records:
        columns = ["period", "group", "n", "score", "low", "high", "note"]
        table = [columns]
        table += [["" if r[c] is None else str(r[c]) for c in columns] for r in records]
        print_table(table)
    else:
        print("  no answers")
    print(f"open survey link at the Kraków till ({result.till_answers} answers so far):")
    print(f"  {result.survey_link}")
    print(f"  QR code {result.qr.resolve()}")


def _serve_demo(
    store: Store, signer: LinkSigner, result: DemoResult, port: int, one_off: bool
) -> None:
    """Serve the answer page for the demo's links until Ctrl-C or SIGTERM."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from reviewkit.demo import ContinuedClock, demo_answer_app

    class _Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            logging.getLogger("reviewkit.demo").info("%s", format % args)

    app = demo_answer_app(store, ContinuedClock(result.ended_at), signer)
    try:
        server = make_server("127.0.0.1", port, app, handler_class=_Quiet)
    except OSError as exc:
        raise ValidationError(
            f"cannot serve the answer page on 127.0.0.1:{port}: {exc.strerror}; "
            "choose another --port"
        ) from None
    print(f"serving the answer page on {result.answer_base}/ (Ctrl-C to stop):")
    print("  open a link from a message in the Maildir to answer as a customer")
    if one_off:
        print(f"  (the links are signed with a one-off key: set ${LINK_KEYS_ENV} to keep them)")
    sys.stdout.flush()
    # Requests are answered on a thread of their own: Ctrl-C and SIGTERM are raised on the
    # main thread, here, never inside a request, where the WSGI handler would swallow them
    # and serve on.
    serving = threading.Thread(target=server.serve_forever, name="reviewkit-demo-server")
    with server:
        serving.start()
        try:
            while serving.is_alive():
                serving.join(0.5)
        except KeyboardInterrupt:
            print("stopped serving", file=sys.stderr)
        finally:
            server.shutdown()  # a request being answered is finished first


def _campaign_create(args: argparse.Namespace) -> int:
    window = SendWindow(
        weekdays=args.days,
        hours=args.hours,
        holidays=HolidayCalendar.parse(args.holidays) if args.holidays else None,
    )
    store, service, actor = _open(args)
    with store:
        campaign = service.create(
            actor,
            name=args.name,
            channel=Channel(args.channel),
            mode=CampaignMode(args.mode.replace("-", "_")),
            sender=args.sender,
            subject=args.subject,
            body=_read(args.body_file) if args.body_file else "",
            html=_read(args.html_file) if args.html_file else None,
            timezone=args.timezone,
            window=window,
            interval=parse_interval(args.interval),
            start_at=parse_start(args.start, args.timezone) if args.start else None,
            send_delay=parse_interval(args.send_delay),
            unsubscribe_url=args.unsubscribe_url,
            default_region=args.default_region,
            max_sms_segments=args.max_sms_segments,
            answer_url=args.answer_url,
            survey=_survey(args),
            public_review=args.public_review,
            reminder=(
                Reminder(after=parse_interval(args.reminder), count=args.reminders)
                if args.reminder
                else None
            ),
        )
        if args.format == "json":
            _print_campaign_json(campaign)
        else:
            print(f"created campaign {campaign.name!r} ({campaign.status.value})")
    return 0


def _print_campaign_json(campaign: Campaign) -> None:
    from reviewkit.serialization import unstructure

    print(json.dumps(unstructure(campaign), indent=2, ensure_ascii=False))


def _campaign_edit(args: argparse.Namespace) -> int:
    given = vars(args)
    store, service, actor = _open(args)
    with store:
        campaign = service.get(actor, args.name)
        changes: dict[str, object] = {}
        simple = {
            "sender": "sender",
            "subject": "subject",
            "unsubscribe_url": "unsubscribe_url",
            "answer_url": "answer_url",
            "default_region": "default_region",
            "max_sms_segments": "max_sms_segments",
            "public_review": "public_review",
            "timezone": "timezone",
        }
        for option, field in simple.items():
            if option in given:
                changes[field] = given[option]
        if "channel" in given:
            changes["channel"] = Channel(args.channel)
        if "mode" in given:
            changes["mode"] = CampaignMode(args.mode.replace("-", "_"))
        if "body_file" in given:
            changes["body"] = _read(args.body_file)
        if "html_file" in given:
            changes["html"] = _read(args.html_file)
        if "interval" in given:
            changes["interval"] = parse_interval(args.interval)
        if "send_delay" in given:
            changes["send_delay"] = parse_interval(args.send_delay)
        if "start" in given:
            zone = given.get("timezone", campaign.timezone)
            changes["start_at"] = parse_start(args.start, zone)
        if {"days", "hours", "holidays"} & given.keys():
            changes["window"] = _edited_window(campaign.window, given)
        if {"reminder", "reminders"} & given.keys():
            changes["reminder"] = _edited_reminder(campaign.reminder, given)
        survey_options = {"survey", "privacy_url", "expiry_days", "survey_title", "survey_language"}
        if survey_options & given.keys():
            changes["survey"] = _edited_survey(campaign.survey, given)
        if not changes:
            raise ValidationError("nothing to change: give at least one setting (see --help)")
        edited = service.edit(actor, args.name, **changes)
        if args.format == "json":
            _print_campaign_json(edited)
        else:
            names = ", ".join(sorted(changes))
            print(f"edited campaign {edited.name!r} ({edited.status.value}): {names}")
    return 0


def _edited_window(window: SendWindow, given: dict[str, Any]) -> SendWindow:
    holidays = window.holidays
    if "holidays" in given:
        text = given["holidays"]
        holidays = None if text in (None, "", "none") else HolidayCalendar.parse(text)
    return SendWindow(
        weekdays=given.get("days", window.weekdays),
        hours=given.get("hours", window.hours),
        holidays=holidays,
    )


def _edited_reminder(reminder: Reminder | None, given: dict[str, Any]) -> Reminder | None:
    if given.get("reminder") == "off":
        return None
    if "reminder" in given:
        after = parse_interval(given["reminder"])
    elif reminder is not None:
        after = reminder.after
    else:
        raise ValidationError("--reminders needs --reminder: the campaign has no reminders")
    count = given.get("reminders", reminder.count if reminder else 1)
    if reminder is None:
        return Reminder(after=after, count=count)
    return attrs.evolve(reminder, after=after, count=count)


def _edited_survey(survey: Survey | None, given: dict[str, Any]) -> Survey:
    if survey is None:
        if "survey" not in given or "privacy_url" not in given:
            raise ValidationError(
                "the campaign has no survey: give --survey and --privacy-url to add one"
            )
        survey = Survey(type=SurveyType(given["survey"]), privacy_url=given["privacy_url"])
    fields = {
        "type": SurveyType(given["survey"]) if "survey" in given else survey.type,
        "privacy_url": given.get("privacy_url", survey.privacy_url),
        "expiry_days": given.get("expiry_days", survey.expiry_days),
        "title": given.get("survey_title", survey.title),
        "language": given.get("survey_language", survey.language),
    }
    return attrs.evolve(survey, **fields)


def _survey(args: argparse.Namespace) -> Survey | None:
    """The survey `campaign create` asks for, or None."""
    if args.survey is None:
        if args.privacy_url:
            raise ValidationError("--privacy-url needs --survey")
        return None
    if not args.privacy_url:
        raise ValidationError("--survey needs --privacy-url: the survey page links to it")
    if not args.answer_url:
        raise ValidationError("--survey needs --answer-url, the page that records the answers")
    return Survey(
        type=SurveyType(args.survey),
        privacy_url=args.privacy_url,
        expiry_days=args.expiry_days,
        title=args.survey_title,
        language=args.survey_language,
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read template file {path}: {exc}") from exc


def _campaign_action(args: argparse.Namespace) -> int:
    store, service, actor = _open(args, readonly=args.action == "show")
    with store:
        if args.action == "show":
            campaign = service.get(actor, args.name)
            counts = service.counts(actor, args.name)
            _show(campaign, counts, service.failure_reasons(actor, args.name), args.format)
            return 0
        if args.action == "delete":
            total = sum(service.counts(actor, args.name).values())
            service.delete(actor, args.name)
            print(f"deleted campaign {args.name!r} and its {total} requests")
            return 0
        if args.action == "schedule" and args.start:
            timezone = service.get(actor, args.name).timezone
            campaign = service.schedule(actor, args.name, parse_start(args.start, timezone))
            print(f"campaign {campaign.name!r} is {campaign.status.value}")
            return 0
        steer = {
            "schedule": service.schedule,
            "pause": service.pause,
            "resume": service.resume,
            "cancel": service.cancel,
            "reopen": service.reopen,
        }[args.action]
        campaign = steer(actor, args.name)
        print(f"campaign {campaign.name!r} is {campaign.status.value}")
    return 0


def _campaign_list(args: argparse.Namespace) -> int:
    store, service, actor = _open(args, readonly=True)
    with store:
        rows = []
        for campaign in service.list(actor):
            counts = service.counts(actor, campaign.id)
            zone = load_zone(campaign.timezone)
            due = service.next_due(actor, campaign.id)
            send = service.next_send(actor, campaign.id)
            rows.append(
                (
                    campaign,
                    counts,
                    due.astimezone(zone) if due else None,
                    send.astimezone(zone) if send else None,
                )
            )
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "id": c.id,
                        "name": c.name,
                        "status": c.status.value,
                        "mode": c.mode.value,
                        "channel": c.channel.value,
                        "counts": {s.value: n for s, n in counts.items()},
                        "next_due": due.isoformat() if due else None,
                        "next_send": send.isoformat() if send else None,
                    }
                    for c, counts, due, send in rows
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    table = [["name", "status", "channel", "pending", "sent", "failed", "next send"]]
    for c, counts, _, send in rows:
        pending = counts[RequestStatus.PENDING] + counts[RequestStatus.CLAIMED]
        table.append(
            [
                c.name,
                c.status.value,
                c.channel.value,
                str(pending),
                str(counts[RequestStatus.SENT]),
                str(counts[RequestStatus.FAILED]),
                f"{send:%Y-%m-%d %H:%M %Z}" if send else "-",
            ]
        )
    print_table(table)
    return 0


def _campaign_retry(args: argparse.Namespace) -> int:
    store, service, actor = _open(args)
    with store:
        count = service.retry_failed(actor, args.name, args.request or None)
        campaign = service.get(actor, args.name)
    print(f"{count} failed requests back in the queue; campaign {campaign.name!r} is "
          f"{campaign.status.value}")  # fmt: skip
    return 0


def _show(
    campaign: Campaign,
    counts: dict[RequestStatus, int],
    reasons: tuple[tuple[RequestStatus, str, int], ...],
    fmt: str,
) -> None:
    from reviewkit.serialization import unstructure

    if fmt == "json":
        data = unstructure(campaign)
        data["counts"] = {s.value: n for s, n in counts.items()}
        data["reasons"] = [{"status": s.value, "reason": r, "count": n} for s, r, n in reasons]
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    w = campaign.window
    days = ",".join(WEEKDAY_NAMES[d] for d in sorted(w.weekdays))
    print(f"campaign {campaign.name!r}")
    print(f"  status     {campaign.status.value}")
    if campaign.failure_reason:
        print(f"  failure    {campaign.failure_reason}")
    print(f"  mode       {campaign.mode.value.replace('_', '-')}")
    print(f"  channel    {campaign.channel.value} from {campaign.sender or '(no sender)'}")
    print(f"  window     {days} {','.join(map(str, w.hours))} {campaign.timezone}")
    print(f"  interval   {int(campaign.interval.total_seconds())} s")
    start = campaign.start_at
    shown = start.astimezone(load_zone(campaign.timezone)).isoformat() if start else "(not set)"
    print(f"  start      {shown}")
    print("  requests   " + ", ".join(f"{s.value} {n}" for s, n in counts.items()))
    if reasons:
        print("  why requests did not go out:")
        for status, why, n in reasons:
            print(f"    {n:>6}  {status.value:<10} {why}")


def _campaign_add_recipient(args: argparse.Namespace) -> int:
    store, service, actor = _open(args)
    with store:
        result = service.add_recipients(
            actor,
            args.name,
            [
                Recipient(
                    email=args.email,
                    phone=args.phone,
                    name=args.recipient_name,
                    transaction_id=args.transaction,
                    timezone=args.timezone,
                )
            ],
        )
        print("added" if result.added else "already a recipient")
    return 0


def link_signer(variable: str) -> LinkSigner | None:
    """The link keys in the environment variable *variable*, if it is set."""
    from reviewkit.domain.tokens import LinkSigner

    value = os.environ.get(variable)
    return LinkSigner.from_text(value, source=f"${variable}") if value else None


def _survey_link(args: argparse.Namespace) -> int:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.services.answers import AnswerService

    signer = link_signer(args.link_keys_env)
    if signer is None:
        raise ValidationError(f"no link keys: set ${args.link_keys_env} to id:secret")
    if args.days < 1:
        raise ValidationError("--days must be at least 1")
    with open_store(args, readonly=True) as store:
        campaign = store.get_campaign(args.campaign)
        answers = AnswerService(store, SystemClock(), signer)
        token = answers.open_link(campaign.id, args.location, ttl=timedelta(days=args.days))
    template = args.url
    if template is None and campaign.answer_url and "/a/{token}" in campaign.answer_url:
        template = campaign.answer_url.replace("/a/{token}", "/s/{token}")
    if template is None or "{token}" not in template:
        raise ValidationError(
            "--url needs the open-link address with {token}, e.g. "
            "https://shop.example/feedback/s/{token}"
        )
    print(template.replace("{token}", token))
    return 0


def _link(args: argparse.Namespace) -> int:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.domain.tokens import TokenPurpose
    from reviewkit.services.dispatch import sign_link

    signer = link_signer(args.link_keys_env)
    if signer is None:
        raise ValidationError(f"no link keys: set ${args.link_keys_env} to id:secret")
    with open_store(args, readonly=True) as store:
        request = store.get_request(args.request)
        campaign = store.get_campaign(request.campaign_id)
    purpose = TokenPurpose[args.purpose.upper()]
    score = None
    if args.score is not None:
        if purpose is not TokenPurpose.ANSWER or campaign.survey is None:
            raise ValidationError("--score needs an answer link of a survey campaign")
        score = campaign.survey.checked_score(args.score)
    url = sign_link(signer, campaign, request, purpose, now=SystemClock().now(), score=score)
    if url is None:
        raise ValidationError(f"campaign {campaign.name!r} has no {args.purpose} URL")
    print(url)
    return 0


def email_transport(args: argparse.Namespace) -> Transport:
    """The e-mail transport of ``--outbox``, ``--smtp`` or ``--accounts``."""
    from reviewkit.adapters.maildir import MaildirTransport
    from reviewkit.adapters.smtp import SMTPTransport

    if args.outbox:
        return MaildirTransport(args.outbox)
    accounts, default = _smtp_accounts(args)
    return SMTPTransport(accounts, default=default, hooks=dkim_hooks(args))


def _campaign_test_send(args: argparse.Namespace) -> int:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.domain.contacts import normalize_email
    from reviewkit.services.campaigns import CampaignService

    to = normalize_email(args.to)
    with open_store(args, readonly=True) as store:
        transport = email_transport(args)
        try:
            message = CampaignService(store, SystemClock()).send_test(
                Actor.system(email=to), args.name, transport
            )
        finally:
            transport.close()
    print(f"test message {message.subject!r} sent to {to}")
    return 0


class _DispatchProgress:
    """What ``dispatch`` says while it runs, on standard error: the counts so far, at most
    every few seconds while it sends, and what it waits for before a wait of over a minute
    (in the campaign's local time)."""

    def __init__(self, max_wait: timedelta | None, every: float = 5.0) -> None:
        self.max_wait = max_wait
        self.every = every
        self.counts = {"sent": 0, "failed": 0, "suppressed": 0, "reminded": 0}
        self.shown = dict(self.counts)
        self.printed_at = time.monotonic()
        self.waiting: object = None

    def __call__(self, report: DispatchReport) -> None:
        for name in self.counts:
            self.counts[name] += getattr(report, name)
        wait = report.next_wait
        ahead = None if wait is None else wait.at - datetime.now(UTC)
        long_wait = ahead is not None and ahead > timedelta(minutes=1)
        if long_wait and self.max_wait is not None and ahead is not None:
            long_wait = ahead <= self.max_wait  # otherwise dispatch ends instead of waiting
        due = time.monotonic() - self.printed_at >= self.every
        if self.counts != self.shown and (due or long_wait):
            self._say(", ".join(f"{name} {n}" for name, n in self.counts.items()) + " so far")
            self.shown = dict(self.counts)
        if long_wait and wait is not None and wait != self.waiting:
            self._say(f"waiting: {wait.describe()}")
            self.waiting = wait

    def _say(self, line: str) -> None:
        print(f"dispatch: {line}", file=sys.stderr, flush=True)
        self.printed_at = time.monotonic()


def _dispatch(args: argparse.Namespace) -> int:
    from reviewkit.adapters.charts import MatplotlibCharts, charts_available
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.adapters.sms import ChannelRouter, HttpSmsTransport, SmsFileTransport
    from reviewkit.cli_alerts import alert_chore, task_chore
    from reviewkit.services.dispatch import Dispatcher
    from reviewkit.services.reports import ReportChore, ReportService

    with open_store(args) as store:
        email = email_transport(args)
        sms: Transport | None = None
        if args.sms_gateway:
            sms = HttpSmsTransport(args.sms_gateway)
        elif args.sms_outbox:
            sms = SmsFileTransport(args.sms_outbox)
        transport = email if sms is None else ChannelRouter(email=email, sms=sms)
        chore = alert_chore(store, args, email, args.worker_id)
        clock = SystemClock()
        charts = MatplotlibCharts() if charts_available() else None
        reports = ReportChore(
            ReportService(store, clock, email, charts=charts, worker_id=args.worker_id)
        )
        if is_postgres_url(str(args.db)):
            from reviewkit.adapters.postgres import NotifiedClock, PostgresStore

            assert isinstance(store, PostgresStore)
            clock = NotifiedClock(store)  # wakes on new requests instead of waiting a poll
        chores: list[Chore] = [reports] if chore is None else [chore, reports]
        escalation = task_chore(store, args)
        if escalation is not None:  # first, so the next person's notice goes out at once
            chores.insert(0, escalation)
        retention = None
        if args.retention:
            from reviewkit.services.retention import RetentionChore, RetentionService

            retention = RetentionChore(RetentionService(store, clock))
            chores.append(retention)
        dispatcher = Dispatcher(
            store,
            transport,
            clock,
            worker_id=args.worker_id,
            lease=parse_interval(args.lease),
            batch_size=args.batch_size,
            links=link_signer(args.link_keys_env),
            chores=chores,
            record_every=args.record_every,
        )
        max_wait = parse_interval(args.max_wait) if args.until_idle else None
        try:
            report = dispatcher.run(
                until_idle=args.until_idle,
                max_wait=max_wait,
                poll=parse_interval(args.poll),
                progress=None if args.quiet else _DispatchProgress(max_wait),
            )
        except KeyboardInterrupt as exc:
            # The dispatcher has given back the claims it had not tried yet.
            return _stopped(exc, "dispatch", "requests not yet tried were released for others")
        reasons = {
            name: store.get_campaign(name).failure_reason for name in report.failed_campaigns
        }
    if args.format == "json":
        alerts = None
        if chore is not None and chore.last is not None:
            alerts = {
                "fired": len(chore.last.fired),
                "resolved": len(chore.last.resolved),
                "delivered": chore.delivered,
            }
        summary = {
            "sent": report.sent,
            "failed": report.failed,
            "retried": report.retried,
            "suppressed": report.suppressed,
            "reminded": report.reminded,
            "completed": list(report.completed),
            "failed_campaigns": reasons,
            "alerts": alerts,
            "reports": {"sent": reports.sent, "failed": reports.failed},
            "tasks_escalated": None if escalation is None else escalation.escalated,
            "retention": None
            if retention is None or retention.last is None
            else {
                "anonymised": retention.last.requests,
                "comments": retention.last.comments,
                "engagement": retention.last.engagement,
            },
            "next": None
            if report.next_wait is None
            else {
                "campaign": report.next_wait.campaign,
                "reason": report.next_wait.reason.value,
                "at": report.next_wait.at.astimezone(
                    load_zone(report.next_wait.timezone)
                ).isoformat(),
            },
        }
        print(json.dumps(summary, ensure_ascii=False))
        return 1 if reasons else EXIT_PARTLY if report.failed else 0
    print(
        f"sent {report.sent}, failed {report.failed}, retried {report.retried}"
        + (f", completed {', '.join(report.completed)}" if report.completed else "")
    )
    if chore is not None and chore.last is not None:
        print(
            f"alerts: {len(chore.last.fired)} fired, {len(chore.last.resolved)} resolved, "
            f"{chore.delivered} notification{'s' if chore.delivered != 1 else ''} delivered"
        )
    if reports.sent or reports.failed:
        print(f"reports: {reports.sent} sent, {reports.failed} failed")
    if escalation is not None and escalation.escalated:
        print(f"tasks: {escalation.escalated} escalated")
    if retention is not None and retention.last is not None:
        last = retention.last
        print(
            f"retention: anonymised {last.requests} requests; cleared {last.comments} "
            f"comments and {last.engagement} engagement times"
        )
    if report.next_wait is not None:
        print(f"next: {report.next_wait.describe()}")
    for name, reason in reasons.items():
        print(f"reviewkit: campaign {name!r} failed: {reason}", file=sys.stderr)
    if reasons:
        return 1
    return EXIT_PARTLY if report.failed else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
