"""``reviewkit report``: scheduled personalised reports from the shell.

A report is defined in a JSON file (the shape :class:`reviewkit.ReportDefinition` writes,
see docs/reports.md), added once, and then goes out from ``dispatch`` or ``report send-due``.
"""

from __future__ import annotations

import argparse
import calendar
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from reviewkit.cli import EXIT_PARTLY, command_help, open_store, parse_start, print_table
from reviewkit.errors import ValidationError

if TYPE_CHECKING:
    from reviewkit.adapters.relational import RelationalStore
    from reviewkit.domain.reports import ReportDefinition
    from reviewkit.ports import Transport
    from reviewkit.services.reports import ReportService

__all__ = ["configure_reports", "read_definition"]

_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def configure_reports(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``report`` command group."""
    from reviewkit.cli import add_dkim_option, add_email_options

    report = commands.add_parser("report", help=command_help("report"))
    actions = report.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", parents=[common], help="add a report from a JSON definition")
    add.add_argument("file", type=Path, metavar="FILE.json")
    add.add_argument("--replace", action="store_true", help="replace the report of the same name")
    add.set_defaults(handler=_add)
    listing = actions.add_parser("list", parents=[common], help="the reports and their outbox")
    listing.add_argument("--format", choices=["table", "json"], default="table")
    listing.set_defaults(handler=_list)
    render = actions.add_parser(
        "render", parents=[common], help="write one recipient's report as an HTML file"
    )
    render.add_argument("name", metavar="NAME")
    render.add_argument("--recipient", metavar="ADDRESS", help="whose report (the first)")
    render.add_argument(
        "--at",
        metavar="WHEN",
        help="as if sent then (ISO date-time in the recipient's zone; default now): the "
        "report covers the last whole period before it",
    )
    render.add_argument("--out", type=Path, metavar="FILE.html", required=True)
    render.add_argument("--no-charts", action="store_true", help="tables only")
    render.set_defaults(handler=_render)
    send = actions.add_parser(
        "send-due", parents=[common], help="plan and send the reports that are due now"
    )
    where = send.add_mutually_exclusive_group(required=True)
    where.add_argument("--outbox", metavar="DIR", help="write the e-mails into this Maildir")
    add_email_options(where)
    add_dkim_option(send)
    send.add_argument("--format", choices=["text", "json"], default="text")
    send.add_argument("--no-charts", action="store_true", help="tables only")
    send.add_argument(
        "--lease", default="10m", help="how long a claim lasts before others may take it (10m)"
    )
    send.set_defaults(handler=_send_due)
    remove = actions.add_parser("remove", parents=[common], help="delete a report")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(handler=_remove)


def read_definition(path: Path) -> ReportDefinition:
    """Read a report definition from a JSON file.

    :raises ValidationError: the file is not JSON or not a valid definition (naming why).
    """
    from reviewkit.domain.reports import ReportDefinition
    from reviewkit.serialization import read_data

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path}: not JSON: {exc}") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{path}: not UTF-8 text") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{path}: a report definition is a JSON object")
    try:
        return read_data(data, ReportDefinition, "a report definition")
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc}") from None


def _service(
    store: RelationalStore,
    transport: Transport | None = None,
    *,
    charts: bool = True,
    lease: timedelta = timedelta(minutes=10),
) -> ReportService:
    """The report service; with charts when asked and matplotlib is installed."""
    from reviewkit.adapters.charts import MatplotlibCharts, charts_available
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.services.reports import ReportService

    drawer = MatplotlibCharts() if charts and charts_available() else None
    return ReportService(store, SystemClock(), transport, charts=drawer, lease=lease)


def _add(args: argparse.Namespace) -> int:
    import attrs

    from reviewkit.errors import NotFoundError

    if not args.file.is_file():
        raise ValidationError(f"{args.file}: no such file")
    definition = read_definition(args.file)
    with open_store(args) as store:
        service = _service(store)
        if args.replace:
            try:
                old = service.get(definition.name)
            except NotFoundError:
                pass
            else:
                stored = service.replace(
                    attrs.evolve(definition, id=old.id, created_at=old.created_at)
                )
                print(f"report {stored.name!r} replaced ({len(stored.recipients)} recipients)")
                return 0
        stored = service.add(definition)
    print(f"report {stored.name!r} added ({len(stored.recipients)} recipients)")
    return 0


def _record(report: ReportDefinition, runs: list[Any]) -> dict[str, Any]:
    rule = report.recurrence
    when = {
        "day": "daily",
        "week": f"weekly on {calendar.day_name[rule.weekday]}",
        "month": f"monthly on day {rule.day}",
    }
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.status.value] = counts.get(run.status.value, 0) + 1
    sent = [run.sent_at for run in runs if run.sent_at is not None]
    return {
        "name": report.name,
        "id": report.id,
        "schedule": f"{when[rule.every.value]} at {rule.at.isoformat('minutes')}",
        "metrics": [m.value for m in report.metrics],
        "recipients": len(report.recipients),
        "runs": counts,
        "last_sent": max(sent).isoformat() if sent else None,
    }


def _list(args: argparse.Namespace) -> int:
    with open_store(args, readonly=True) as store:
        records = [
            _record(report, store.list_report_runs(report.id)) for report in store.list_reports()
        ]
    if args.format == "json":
        print(json.dumps(records, ensure_ascii=False))
        return 0
    table = [["NAME", "SCHEDULE", "RECIPIENTS", "SENT", "PENDING", "FAILED", "LAST SENT"]]
    for r in records:
        runs = r["runs"]
        table.append(
            [
                r["name"],
                r["schedule"],
                str(r["recipients"]),
                str(runs.get("sent", 0)),
                str(runs.get("pending", 0) + runs.get("claimed", 0)),
                str(runs.get("failed", 0)),
                r["last_sent"] or "-",
            ]
        )
    print_table(table)
    return 0


def _render(args: argparse.Namespace) -> int:
    if not args.out.parent.is_dir():
        raise ValidationError(f"--out {args.out}: the folder {args.out.parent} does not exist")
    with open_store(args, readonly=True) as store:
        service = _service(store, charts=not args.no_charts)
        report = service.get(args.name)
        if not report.recipients:
            raise ValidationError(f"report {report.name!r} has no recipients")
        recipient = report.recipient(args.recipient) if args.recipient else report.recipients[0]
        at = None
        if args.at:
            at = parse_start(args.at, recipient.timezone).astimezone(UTC)
        figures = service.figures(report, at=at, recipients=[recipient.address])
        rendered = service.render(figures[recipient.address])
    args.out.write_text(rendered.standalone_html(), encoding="utf-8")
    print(f"{rendered.subject} -> {args.out}")
    return 0


def _send_due(args: argparse.Namespace) -> int:
    from reviewkit.cli import email_transport, parse_interval

    lease = parse_interval(args.lease)
    if lease <= timedelta(0):
        raise ValidationError("--lease must be a positive duration, like 10m")
    transport = email_transport(args)
    try:
        with open_store(args) as store:
            service = _service(store, transport, charts=not args.no_charts, lease=lease)
            now = datetime.now(UTC)
            planned = service.plan(now)
            sent = failed = retried = 0
            while True:
                summary = service.send_due()  # the clock's time: a batch may take a while
                sent, failed = sent + summary.sent, failed + summary.failed
                retried += summary.retried
                if summary.sent + summary.failed + summary.retried == 0:
                    break
            failures = [
                f"{run.recipient} {run.period}: {run.last_error}"
                for run in service.runs(statuses=["failed"])
                if run.sent_at is None and run.last_error
            ]
    finally:
        transport.close()
    if args.format == "json":
        print(json.dumps({"planned": planned, "sent": sent, "failed": failed, "retried": retried}))
    else:
        print(f"planned {planned}, sent {sent}, failed {failed}, retried {retried}")
        if failed:
            for line in failures[-failed:]:
                print(f"reviewkit: report failed: {line}", file=sys.stderr)
    return EXIT_PARTLY if failed else 0


def _remove(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        removed = _service(store).remove(args.name)
    print(f"report {removed.name!r} removed")
    return 0
