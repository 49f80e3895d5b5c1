"""``reviewkit contact``: a contact's data on request, from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TypeAlias

from reviewkit.cli import LINK_KEYS_ENV, command_help, link_signer, open_store
from reviewkit.errors import ValidationError

__all__ = ["configure_contact"]

_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def configure_contact(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``contact`` command group."""
    contact = commands.add_parser("contact", help=command_help("contact"))
    actions = contact.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export",
        parents=[common],
        help="everything held about one contact, as JSON",
        description="Write everything reviewkit holds about a contact (requests, engagement, "
        "answers with their history, classifications, tasks, suppressions) as JSON.",
    )
    export.add_argument("--email", metavar="ADDRESS")
    export.add_argument("--phone", metavar="NUMBER")
    export.add_argument(
        "--default-region", metavar="CC", default="PL", help="for numbers without +CC (PL)"
    )
    export.add_argument("--output", type=Path, metavar="FILE.json", help="(default: stdout)")
    export.set_defaults(handler=_export)
    erase = actions.add_parser(
        "erase",
        parents=[common],
        help="erase one contact's personal data (scores keep their counts)",
        description="Erase a contact: their requests lose the recipient's details and address, "
        "answers their comments, tasks, alerts and notes what they quoted; a suppressed "
        "address stays suppressed under a hash keyed with the link keys.",
    )
    erase.add_argument("--email", metavar="ADDRESS")
    erase.add_argument("--phone", metavar="NUMBER")
    erase.add_argument("--default-region", metavar="CC", default="PL")
    erase.add_argument("--link-keys-env", default=LINK_KEYS_ENV, metavar="NAME")
    erase.add_argument("--yes", action="store_true", help="erase without asking (required)")
    erase.set_defaults(handler=_erase)
    for action, says in (("grant", "gives"), ("withdraw", "withdraws")):
        change = actions.add_parser(
            action,
            parents=[common],
            help=f"the contact {says} a consent (kept with its source and time)",
            description=f"Record that the contact {says} consent NAME (e.g. publication, "
            "marketing). Sends and published reviews obey it from now on.",
        )
        change.add_argument("name", metavar="NAME", help="the consent: publication, marketing…")
        _contact_options(change)
        change.add_argument("--source", metavar="TEXT", help='how: "phone call", "account"…')
        change.add_argument(
            "--at", metavar="ISO-DATETIME", help="when the customer said so (default: now)"
        )
        change.set_defaults(handler=_change, granted=action == "grant")
    history = actions.add_parser(
        "consents",
        parents=[common],
        help="the contact's consents over time",
        description="Every consent the contact gave or withdrew, oldest first: those their "
        "requests came with and those recorded since.",
    )
    _contact_options(history)
    history.add_argument("--format", choices=["table", "json"], default="table")
    history.set_defaults(handler=_history)


def _contact_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", metavar="ADDRESS")
    parser.add_argument("--phone", metavar="NUMBER")
    parser.add_argument(
        "--default-region", metavar="CC", default="PL", help="for numbers without +CC (PL)"
    )


def _change(args: argparse.Namespace) -> int:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.services.consent import ConsentService

    at = None if args.at is None else _instant(args.at)
    with open_store(args) as store:
        service = ConsentService(store, SystemClock(), default_region=args.default_region)
        record = service.grant if args.granted else service.withdraw
        changes = record(args.name, email=args.email, phone=args.phone, source=args.source, at=at)
    word = "granted" if args.granted else "withdrawn"
    for change in changes:
        print(f"{change.name} {word} for {change.address} at {change.at.isoformat()}")
    return 0


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ValidationError(
            f"--at {text!r}: give a date-time with its offset, like 2026-12-01T09:00+01:00"
        )
    return value


def _history(args: argparse.Namespace) -> int:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.cli import print_table
    from reviewkit.serialization import unstructure
    from reviewkit.services.consent import ConsentService

    with open_store(args, readonly=True) as store:
        changes = ConsentService(store, SystemClock(), default_region=args.default_region).history(
            email=args.email, phone=args.phone
        )
    if args.format == "json":
        print(json.dumps([unstructure(c) for c in changes], ensure_ascii=False, indent=2))
        return 0
    if not changes:
        print("no consents recorded")
        return 0
    table = [["at", "consent", "given", "address", "source"]]
    table += [
        [c.at.isoformat(), c.name, "yes" if c.granted else "no", c.address, c.source or "-"]
        for c in changes
    ]
    print_table(table)
    return 0


def _export(args: argparse.Namespace) -> int:
    from reviewkit.services.privacy import PrivacyService

    if args.output is not None and not args.output.parent.is_dir():
        raise ValidationError(f"--output {args.output}: the folder does not exist")
    with open_store(args, readonly=True) as store:
        data = PrivacyService(store, default_region=args.default_region).export(
            email=args.email, phone=args.phone
        )
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"{len(data['requests'])} requests of the contact written to {args.output}")
    return 0


def _erase(args: argparse.Namespace) -> int:
    from reviewkit.services.privacy import PrivacyService

    if not args.yes:
        raise ValidationError("erasing cannot be undone: add --yes to erase")
    signer = link_signer(args.link_keys_env)
    if signer is None:
        raise ValidationError(f"no link keys: set ${args.link_keys_env} to id:secret")
    with open_store(args) as store:
        done = PrivacyService(store, links=signer, default_region=args.default_region).erase(
            email=args.email, phone=args.phone
        )
    print(f"erased {done.requests} requests; {done.suppressions} suppressions kept as a keyed hash")
    return 0
