"""``reviewkit answers``: the survey answers, listed or exported for a spreadsheet.

Times are shown in ``--timezone`` (UTC unless given) with their offset; each row names its
campaign; comments that a spreadsheet would run as a formula are neutralised in CSV.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeAlias

from reviewkit.cli import command_help, open_store, parse_start, print_table
from reviewkit.domain.survey import SurveyType
from reviewkit.errors import ValidationError

if TYPE_CHECKING:
    from reviewkit.adapters.relational import RelationalStore

__all__ = ["FIELDS", "configure_answers"]

_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

FIELDS = (
    "answered_at", "campaign", "campaign_id", "request_id", "type", "score", "comment",
    "channel", "segment",
)  # fmt: skip
"""The columns of ``answers export`` and the keys of ``answers list --format json``."""


def configure_answers(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``answers`` command group."""
    answers = commands.add_parser("answers", help=command_help("answers"))
    actions = answers.add_subparsers(dest="action", required=True, metavar="ACTION")
    filters = argparse.ArgumentParser(add_help=False)
    filters.add_argument("--campaign", metavar="NAME", help="one campaign's answers")
    filters.add_argument("--type", choices=[t.value for t in SurveyType], help="one survey type")
    filters.add_argument("--since", metavar="DATE", help="given at or after (ISO date or time)")
    filters.add_argument("--until", metavar="DATE", help="given before")
    filters.add_argument("--timezone", default="UTC", help="for the dates and the times shown")
    listing = actions.add_parser("list", parents=[common, filters], help="the current answers")
    listing.add_argument("--format", choices=["table", "json", "csv"], default="table")
    listing.set_defaults(handler=_list)
    export = actions.add_parser(
        "export", parents=[common, filters], help="write the current answers to a CSV file"
    )
    export.add_argument("--output", type=Path, required=True, metavar="FILE.csv")
    export.set_defaults(handler=_export)


def _rows(args: argparse.Namespace, store: RelationalStore) -> Iterator[dict[str, Any]]:
    from reviewkit.domain.window import load_zone

    zone = load_zone(args.timezone)
    names = {c.id: c.name for c in store.list_campaigns()}
    campaign_id = store.get_campaign(args.campaign).id if args.campaign else None
    since = parse_start(args.since, args.timezone) if args.since else None
    until = parse_start(args.until, args.timezone) if args.until else None
    for answer in store.iter_answers(campaign_id=campaign_id, since=since, until=until):
        if args.type and answer.kind.value != args.type:
            continue
        yield {
            "answered_at": answer.at.astimezone(zone).isoformat(timespec="seconds"),
            "campaign": names.get(answer.campaign_id, ""),
            "campaign_id": answer.campaign_id,
            "request_id": answer.request_id,
            "type": answer.kind.value,
            "score": answer.score,
            "comment": answer.comment or "",
            "channel": answer.channel.value,
            "segment": answer.segment or "",
        }


def _write_csv(rows: Iterator[dict[str, Any]], out: TextIO) -> int:
    from reviewkit.domain.collection import neutralize_cell

    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(
            {k: neutralize_cell(v) if isinstance(v, str) else v for k, v in row.items()}
        )
        count += 1
    return count


def _list(args: argparse.Namespace) -> int:

    with open_store(args, readonly=True) as store:
        rows = list(_rows(args, store))
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif args.format == "csv":
        _write_csv(iter(rows), sys.stdout)
    elif not rows:
        print("no answers")
    else:
        table = [["answered", "campaign", "type", "score", "segment", "comment"]]
        table += [[r["answered_at"], r["campaign"], r["type"], str(r["score"]), r["segment"],
                   r["comment"][:60]] for r in rows]  # fmt: skip
        print_table(table)
    return 0


def _export(args: argparse.Namespace) -> int:
    output: Path = args.output
    if not output.parent.is_dir():
        raise ValidationError(f"--output {output}: the folder {output.parent} does not exist")
    with open_store(args, readonly=True) as store:
        try:
            with output.open("w", encoding="utf-8-sig", newline="") as out:
                count = _write_csv(_rows(args, store), out)
        except OSError as exc:
            raise ValidationError(f"cannot write {output}: {exc.strerror or exc}") from None
    print(f"{count} answers written to {output}")
    return 0
