"""``reviewkit retention purge``: remove what is past its time (see docs/privacy.md)."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import TypeAlias

from reviewkit.cli import command_help, open_store, parse_interval

__all__ = ["configure_retention"]

_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def configure_retention(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``retention`` command group."""
    retention = commands.add_parser("retention", help=command_help("retention"))
    actions = retention.add_subparsers(dest="action", required=True, metavar="ACTION")
    purge = actions.add_parser(
        "purge",
        parents=[common],
        help="anonymise old requests, clear old comments and engagement times",
    )
    purge.add_argument("--personal-data", default="1095d", metavar="SPAN|off")
    purge.add_argument("--comments", default="730d", metavar="SPAN|off")
    purge.add_argument("--engagement", default="365d", metavar="SPAN|off")
    purge.set_defaults(handler=_purge)


def _span(text: str) -> timedelta | None:
    return None if text == "off" else parse_interval(text)


def _purge(args: argparse.Namespace) -> int:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.domain.retention import RetentionPolicy
    from reviewkit.services.retention import RetentionService

    policy = RetentionPolicy(
        personal_data=_span(args.personal_data),
        comments=_span(args.comments),
        engagement=_span(args.engagement),
    )
    with open_store(args) as store:
        result = RetentionService(store, SystemClock(), policy).purge()
    print(
        f"anonymised {result.requests} requests; cleared {result.comments} comments and "
        f"{result.engagement} engagement times"
    )
    return 0
