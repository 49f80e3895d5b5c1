"""``reviewkit contact``: a contact's data on request, from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TypeAlias

from reviewkit.cli import LINK_KEYS_ENV, link_signer, open_store
from reviewkit.errors import ValidationError

__all__ = ["configure_contact"]

_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def configure_contact(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``contact`` command group."""
    contact = commands.add_parser("contact", help="a contact's data (data-protection requests)")
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
