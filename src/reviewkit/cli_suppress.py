"""``reviewkit suppress``: the addresses never to send to, from the shell.

Addresses are checked and written as the requests write them (an e-mail address normalised,
a phone number in E.164), so a suppression always matches the requests it is meant to stop.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from reviewkit.cli import EXIT_PARTLY, command_help, open_store, print_table
from reviewkit.domain.campaign import SENDING_CHANNELS, Channel
from reviewkit.domain.suppression import Suppression, SuppressionReason
from reviewkit.errors import ValidationError

if TYPE_CHECKING:
    from reviewkit.adapters.relational import RelationalStore
    from reviewkit.services.suppression import SuppressionService

__all__ = ["configure_suppress"]

_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

_COLUMNS = ("address", "email", "phone", "e-mail", "chat_id")


def configure_suppress(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``suppress`` command group."""
    suppress = commands.add_parser("suppress", help=command_help("suppress"))
    actions = suppress.add_subparsers(dest="action", required=True, metavar="ACTION")
    channel = argparse.ArgumentParser(add_help=False)
    channel.add_argument("--channel", choices=[c.value for c in SENDING_CHANNELS], default="email")
    channel.add_argument(
        "--default-region", metavar="CC", default="PL", help="for phone numbers without +CC (PL)"
    )
    reason = argparse.ArgumentParser(add_help=False)
    reason.add_argument(
        "--reason", choices=[r.value for r in SuppressionReason], default="blocklisted"
    )
    reason.add_argument("--note", help="why, for whoever reads the list later")
    add = actions.add_parser(
        "add", parents=[common, channel, reason], help="suppress addresses (a repeat updates)"
    )
    add.add_argument("addresses", nargs="+", metavar="ADDRESS")
    add.set_defaults(handler=_add)
    remove = actions.add_parser("remove", parents=[common, channel], help="lift suppressions")
    remove.add_argument("addresses", nargs="+", metavar="ADDRESS")
    remove.set_defaults(handler=_remove)
    listing = actions.add_parser("list", parents=[common], help="the suppressed addresses")
    listing.add_argument("--channel", choices=[c.value for c in SENDING_CHANNELS])
    listing.add_argument("--format", choices=["table", "json", "csv"], default="table")
    listing.set_defaults(handler=_list)
    imported = actions.add_parser(
        "import",
        parents=[common, channel, reason],
        help="suppress every address of a CSV file",
        description="Suppress the addresses of a CSV file: the column --column, else the "
        f"first of {', '.join(_COLUMNS)}. Rows with an address that is not valid are listed "
        "and skipped (exit status 3); the others are suppressed together.",
    )
    imported.add_argument("file", type=Path, metavar="FILE")
    imported.add_argument("--column", metavar="NAME")
    imported.add_argument("--encoding", default="utf-8-sig", metavar="ENC")
    imported.set_defaults(handler=_import)


def _service(store: RelationalStore) -> SuppressionService:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.services.suppression import SuppressionService

    return SuppressionService(store, SystemClock())


def _address(text: str, channel: Channel, region: str) -> str:
    """*text* as requests to it are addressed on *channel*."""
    if channel is Channel.EMAIL:
        from reviewkit.domain.contacts import normalize_email

        return normalize_email(text)
    if channel is Channel.SMS:
        from reviewkit.domain.sms import normalize_phone

        return normalize_phone(text, region)
    if not text.strip():
        raise ValidationError("a chat id must not be empty")
    return text.strip()


def _add(args: argparse.Namespace) -> int:
    channel = Channel(args.channel)
    addresses = [_address(text, channel, args.default_region) for text in args.addresses]
    with open_store(args) as store, store.transaction():
        service = _service(store)
        for address in addresses:
            service.suppress(
                address,
                channel=channel,
                reason=SuppressionReason(args.reason),
                note=args.note,
            )
    print(f"suppressed {len(addresses)} {channel.value} address{'es' * (len(addresses) != 1)}")
    return 0


def _remove(args: argparse.Namespace) -> int:

    channel = Channel(args.channel)
    addresses = [_address(text, channel, args.default_region) for text in args.addresses]
    missing = []
    with open_store(args) as store, store.transaction():
        service = _service(store)
        missing = [a for a in addresses if not service.lift(a, channel=channel)]
    print(f"lifted {len(addresses) - len(missing)} suppression(s)")
    for address in missing:
        print(f"reviewkit: {address} was not suppressed on {channel.value}", file=sys.stderr)
    return EXIT_PARTLY if missing else 0


def _record(s: Suppression) -> dict[str, Any]:
    return {
        "channel": s.channel.value,
        "address": s.address,
        "reason": s.reason.value,
        "at": s.at.isoformat(),
        "note": s.note,
    }


def _list(args: argparse.Namespace) -> int:

    channel = Channel(args.channel) if args.channel else None
    with open_store(args, readonly=True) as store:
        found = [_record(s) for s in _service(store).suppressions(channel)]
    if args.format == "json":
        print(json.dumps(found, ensure_ascii=False, indent=2))
    elif args.format == "csv":
        writer = csv.DictWriter(
            sys.stdout, fieldnames=["channel", "address", "reason", "at", "note"]
        )
        writer.writeheader()
        writer.writerows(found)
    elif not found:
        print("no suppressed addresses")
    else:
        table = [["channel", "address", "reason", "since", "note"]]
        table += [[r["channel"], r["address"], r["reason"], r["at"][:16], r["note"] or ""]
                  for r in found]  # fmt: skip
        print_table(table)
    return 0


def _import(args: argparse.Namespace) -> int:

    channel = Channel(args.channel)
    try:
        text = args.file.read_text(encoding=args.encoding)
    except (OSError, UnicodeDecodeError, LookupError) as exc:
        raise ValidationError(f"cannot read {args.file}: {exc}") from None
    reader = csv.DictReader(text.splitlines())
    header = [name.strip().lower() for name in reader.fieldnames or []]
    wanted = [args.column.strip().lower()] if args.column else list(_COLUMNS)
    column = next((name for name in wanted if name in header), None)
    if column is None:
        raise ValidationError(
            f"{args.file}: no column {' or '.join(wanted)} in its header ({', '.join(header)})"
        )
    position = header.index(column)
    good, rejected = [], []
    for line, row in enumerate(reader, start=2):
        value = list(row.values())[position] if len(row) > position else None
        try:
            good.append(_address(value or "", channel, args.default_region))
        except ValidationError as exc:
            rejected.append(f"{args.file}:{line}: {exc}")
    unique: dict[str, str] = {}  # as the list keys them; the first spelling stays
    for address in good:
        unique.setdefault(address.casefold(), address)
    with open_store(args) as store, store.transaction():
        service = _service(store)
        for address in unique.values():
            service.suppress(
                address, channel=channel, reason=SuppressionReason(args.reason), note=args.note
            )
    print(f"suppressed {len(unique)} {channel.value} addresses, rejected {len(rejected)} rows")
    for message in rejected:
        print(f"reviewkit: {message}", file=sys.stderr)
    return EXIT_PARTLY if rejected else 0
