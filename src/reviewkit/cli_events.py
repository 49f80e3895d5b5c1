"""``reviewkit bounces`` and ``reviewkit events``: what happened after the handoff, from the
shell — a bounce mailbox read, a provider's saved webhook payloads replayed."""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from reviewkit.cli import command_help, open_store
from reviewkit.errors import ValidationError

if TYPE_CHECKING:
    from reviewkit.adapters.relational import RelationalStore
    from reviewkit.services.events import DeliveryEventService, EventOutcome

__all__ = ["configure_events"]

_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

PROVIDERS = ("sendgrid", "mailgun", "ses", "sms")


def configure_events(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``bounces`` and ``events`` command groups."""
    limit = argparse.ArgumentParser(add_help=False)
    limit.add_argument(
        "--soft-limit", type=int, default=3, metavar="N", help="soft bounces that suppress (3)"
    )
    limit.add_argument("--format", choices=["text", "json"], default="text")
    bounces = commands.add_parser("bounces", help=command_help("bounces"))
    actions = bounces.add_subparsers(dest="action", required=True, metavar="ACTION")
    process = actions.add_parser(
        "process",
        parents=[common, limit],
        help="read new bounce and complaint messages from a Maildir folder or IMAP mailbox",
    )
    where = process.add_mutually_exclusive_group(required=True)
    where.add_argument("--maildir", type=Path, metavar="DIR")
    where.add_argument(
        "--imap",
        metavar="URL",
        help="imaps://user@host/MAILBOX (password from $REVIEWKIT_IMAP_PASSWORD), or imap:// "
        "with STARTTLS",
    )
    process.set_defaults(handler=_process)
    events = commands.add_parser("events", help=command_help("events"))
    event_actions = events.add_subparsers(dest="action", required=True, metavar="ACTION")
    record = event_actions.add_parser(
        "record",
        parents=[common, limit],
        help="record a provider's webhook payloads saved as JSON (one call per file)",
    )
    record.add_argument("--provider", choices=PROVIDERS, required=True)
    record.add_argument("files", nargs="+", type=Path, metavar="FILE.json")
    record.set_defaults(handler=_record)


def _service(store: RelationalStore, soft_limit: int) -> DeliveryEventService:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.services.events import DeliveryEventService

    return DeliveryEventService(store, SystemClock(), soft_bounce_limit=soft_limit)


def _report(outcomes: list[EventOutcome], extra: dict[str, int], form: str) -> None:
    actions = Counter(o.action.split(":")[0] for o in outcomes)
    if form == "json":
        print(json.dumps({**extra, "events": len(outcomes), "actions": dict(actions)}))
        return
    head = ", ".join(f"{k} {v}" for k, v in extra.items())
    print(f"{head}, events {len(outcomes)}" if head else f"events {len(outcomes)}")
    for action, count in sorted(actions.items()):
        print(f"  {action}: {count}")


def _process(args: argparse.Namespace) -> int:
    from reviewkit.adapters.bounces import ImapMailbox, process_imap, process_maildir

    if args.soft_limit < 1:
        raise ValidationError("--soft-limit must be at least 1")
    if args.imap is not None:
        imap = ImapMailbox.from_url(args.imap, password=os.environ.get("REVIEWKIT_IMAP_PASSWORD"))
        with open_store(args) as store:
            summary = process_imap(imap, _service(store, args.soft_limit))
    else:
        if not (args.maildir / "new").is_dir() or not (args.maildir / "cur").is_dir():
            raise ValidationError(f"--maildir {args.maildir}: not a Maildir folder (no new/, cur/)")
        with open_store(args) as store:
            summary = process_maildir(args.maildir, _service(store, args.soft_limit))
    extra = {"messages": summary.messages, "unrecognised": summary.unrecognised}
    _report(list(summary.outcomes), extra, args.format)
    return 0


def _record(args: argparse.Namespace) -> int:
    from reviewkit.adapters.webhooks import (
        mailgun_events,
        sendgrid_events,
        ses_events,
        sms_receipt_events,
    )

    reader = {
        "sendgrid": sendgrid_events,
        "mailgun": mailgun_events,
        "ses": ses_events,
        "sms": sms_receipt_events,
    }[args.provider]
    if args.soft_limit < 1:
        raise ValidationError("--soft-limit must be at least 1")
    events = []
    for path in args.files:  # every file is read before anything is recorded
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{path}: not JSON: {exc}") from None
        try:
            events += reader(payload)
        except ValidationError as exc:
            raise ValidationError(f"{path}: {exc}") from None
    with open_store(args) as store:
        outcomes = _service(store, args.soft_limit).record_all(events)
    _report(outcomes, {"files": len(args.files)}, args.format)
    return 0
