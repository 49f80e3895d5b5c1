"""``reviewkit reviews``: moderate the reviews that may be published, and print the feed."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, TypeAlias

from reviewkit.cli import command_help, open_store, print_table

if TYPE_CHECKING:
    from reviewkit.adapters.relational import RelationalStore
    from reviewkit.services.publication import PublicationService

__all__ = ["configure_reviews"]

_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def configure_reviews(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``reviews`` command group."""
    reviews = commands.add_parser("reviews", help=command_help("reviews"))
    actions = reviews.add_subparsers(dest="action", required=True, metavar="ACTION")
    awaiting = actions.add_parser(
        "awaiting", parents=[common], help="consented answers no moderator decided on"
    )
    awaiting.add_argument("--limit", type=int, default=50, metavar="N")
    awaiting.add_argument("--format", choices=["table", "json"], default="table")
    awaiting.set_defaults(handler=_awaiting)
    approve = actions.add_parser("approve", parents=[common], help="approve answers")
    approve.add_argument("answers", nargs="+", metavar="ANSWER_ID")
    approve.add_argument("--by", required=True, metavar="NAME", help="the moderator")
    approve.set_defaults(handler=_approve)
    hide = actions.add_parser("hide", parents=[common], help="keep answers off the feed")
    hide.add_argument("answers", nargs="+", metavar="ANSWER_ID")
    hide.add_argument("--by", required=True, metavar="NAME", help="the moderator")
    hide.add_argument("--reason", required=True, metavar="TEXT")
    hide.set_defaults(handler=_hide)
    feed = actions.add_parser("feed", parents=[common], help="the published reviews")
    feed.add_argument("--limit", type=int, default=20, metavar="N")
    feed.add_argument("--timezone", default="UTC", metavar="ZONE", help="for the dates (UTC)")
    feed.add_argument("--format", choices=["json", "html"], default="json")
    feed.set_defaults(handler=_feed)


def _service(store: RelationalStore) -> PublicationService:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.services.publication import PublicationService

    return PublicationService(store, SystemClock())


def _awaiting(args: argparse.Namespace) -> int:
    with open_store(args, readonly=True) as store:
        found = _service(store).awaiting(limit=args.limit)
    rows = [
        {
            "answer_id": a.id,
            "at": a.at.isoformat(),
            "score": a.score,
            "comment": a.comment,
            "name": r.recipient.name,
        }
        for a, r in found
    ]
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    table = [["ANSWER", "AT", "SCORE", "NAME", "COMMENT"]]
    table += [
        [a.id, a.at.isoformat()[:16], str(a.score), r.recipient.name or "", (a.comment or "")[:60]]
        for a, r in found
    ]
    print_table(table)
    return 0


def _approve(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        service = _service(store)
        for answer_id in args.answers:
            service.approve(answer_id, by=args.by)
    print(f"approved {len(args.answers)}")
    return 0


def _hide(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        service = _service(store)
        for answer_id in args.answers:
            service.hide(answer_id, by=args.by, reason=args.reason)
    print(f"hidden {len(args.answers)}")
    return 0


def _feed(args: argparse.Namespace) -> int:
    with open_store(args, readonly=True) as store:
        service = _service(store)
        if args.format == "html":
            print(service.feed_html(limit=args.limit, timezone=args.timezone))
        else:
            print(service.feed_json(limit=args.limit, timezone=args.timezone))
    return 0
