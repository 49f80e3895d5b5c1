"""``reviewkit trigger`` and ``reviewkit event``: trigger rules kept in the database, and the
host's events reported from the shell (a cron job, a webhook relay, a test)."""

from __future__ import annotations

import argparse
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from reviewkit.cli import command_help, open_store, parse_interval, parse_start, print_table
from reviewkit.errors import ValidationError

if TYPE_CHECKING:
    from reviewkit.adapters.relational import RelationalStore
    from reviewkit.domain.triggers import Condition, TriggerRule
    from reviewkit.services.triggers import TriggerService

__all__ = ["condition_text", "configure_triggers", "parse_condition"]

_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

_CONDITION = re.compile(
    r"^\s*(?P<attribute>[^\s=!<>]+)\s*"
    r"(?P<op>==|=|!=|>=|<=|not\s+in\b|in\b|exists\b)\s*(?P<value>.*?)\s*$",
    re.IGNORECASE,
)
_OPERATORS = {
    "=": "eq",
    "==": "eq",
    "!=": "ne",
    ">=": "gte",
    "<=": "lte",
    "in": "in",
    "not in": "not_in",
    "exists": "exists",
}


def configure_triggers(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``trigger`` and ``event`` command groups."""
    trigger = commands.add_parser("trigger", help=command_help("trigger"))
    actions = trigger.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        parents=[common],
        help="keep a trigger rule in the database",
        description="When EVENT is reported and every --when holds, queue a request in "
        "CAMPAIGN after --delay, once per entity. Or give the whole rule as JSON (--file).",
    )
    add.add_argument("--id", dest="rule_id", metavar="ID", help="the rule's stable name")
    add.add_argument("--event", metavar="TYPE", help="the event type, e.g. task.closed")
    add.add_argument("--campaign", metavar="NAME", help="the campaign the request goes to")
    add.add_argument(
        "--when",
        action="append",
        default=[],
        metavar="CONDITION",
        help="ATTRIBUTE OP VALUE, OP one of = != >= <= in 'not in' exists, e.g. "
        "'customer.vip = true' or 'queue in care,sales' (repeatable: all must hold)",
    )
    add.add_argument("--delay", default="0s", metavar="WAIT", help="after the event, e.g. 2h")
    add.add_argument("--disabled", action="store_true", help="keep the rule but do not fire it")
    add.add_argument("--file", type=Path, metavar="RULE.json", help="the rule as JSON")
    add.set_defaults(handler=_add)
    listing = actions.add_parser("list", parents=[common], help="the rules kept in the database")
    listing.add_argument("--format", choices=["table", "json"], default="table")
    listing.set_defaults(handler=_list)
    remove = actions.add_parser("remove", parents=[common], help="remove a rule")
    remove.add_argument("rule_id", metavar="ID")
    remove.set_defaults(handler=_remove)

    event = commands.add_parser("event", help=command_help("event"))
    event_actions = event.add_subparsers(dest="action", required=True, metavar="ACTION")
    report = event_actions.add_parser(
        "report",
        parents=[common],
        help="apply the trigger rules to an event; print the requests it queued",
    )
    report.add_argument("--type", required=True, metavar="TYPE", help="e.g. task.closed")
    report.add_argument(
        "--entity", required=True, metavar="ID", help="the task, ticket or order it is about"
    )
    who = report.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", metavar="ADDRESS")
    who.add_argument("--phone", metavar="NUMBER")
    report.add_argument("--name", metavar="TEXT", help="the customer's name")
    report.add_argument("--segment", metavar="TEXT", help="the customer's segment")
    report.add_argument(
        "--attr",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an attribute the rules test; KEY may be dotted (customer.vip=true), VALUE is "
        "JSON or text (repeatable)",
    )
    report.add_argument("--at", metavar="ISO-DATETIME", help="when it happened (now)")
    report.add_argument("--timezone", default="UTC", metavar="TZ", help="for --at (UTC)")
    report.add_argument("--format", choices=["text", "json"], default="text")
    report.set_defaults(handler=_report)


def parse_condition(text: str) -> Condition:
    """Read ``ATTRIBUTE OP VALUE`` (``customer.vip = true``, ``queue in care,sales``,
    ``email exists``) as a :class:`~reviewkit.domain.triggers.Condition`.

    :raises ValidationError: not of that form.
    """
    from reviewkit.domain.triggers import Condition

    found = _CONDITION.match(text)
    if found is None:
        raise ValidationError(
            f"--when {text!r}: write ATTRIBUTE OP VALUE, OP one of = != >= <= in 'not in' exists"
        )
    op = _OPERATORS[re.sub(r"\s+", " ", found["op"].lower())]
    raw = found["value"]
    if op == "exists":
        if raw:
            raise ValidationError(f"--when {text!r}: 'exists' takes no value")
        return Condition(found["attribute"], op)
    if not raw:
        raise ValidationError(f"--when {text!r}: a value is missing after {found['op']}")
    value = _value(raw)
    if op in ("in", "not_in") and not isinstance(value, list):
        value = [_value(part.strip()) for part in raw.split(",") if part.strip()]
    return Condition(found["attribute"], op, value)


def _value(text: str) -> Any:
    """JSON when it reads as JSON (``true``, ``3``, ``["a"]``), the text otherwise."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _service(store: RelationalStore) -> TriggerService:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.services.campaigns import CampaignService
    from reviewkit.services.triggers import TriggerService

    return TriggerService(CampaignService(store, SystemClock()))


def _rule(args: argparse.Namespace) -> TriggerRule:
    from reviewkit.domain.triggers import TriggerRule
    from reviewkit.serialization import read_data

    named = (("--id", args.rule_id), ("--event", args.event), ("--campaign", args.campaign))
    if args.file is not None:
        given = [o for o, v in named if v] + (["--when"] if args.when else [])
        if given:
            raise ValidationError(f"--file holds the whole rule: drop {', '.join(given)}")
        try:
            data = json.loads(args.file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValidationError(f"cannot read {args.file}: {exc.strerror}") from None
        except ValueError as exc:
            raise ValidationError(f"{args.file} is not JSON: {exc}") from None
        return read_data(data, TriggerRule, f"a trigger rule from {args.file}")
    missing = [o for o, v in named if not v]
    if missing:
        raise ValidationError(f"a trigger rule needs {', '.join(missing)} (or --file)")
    return TriggerRule(
        id=args.rule_id,
        event=args.event,
        campaign=args.campaign,
        conditions=[parse_condition(text) for text in args.when],
        delay=parse_interval(args.delay),
        enabled=not args.disabled,
    )


def _add(args: argparse.Namespace) -> int:
    rule = _rule(args)
    with open_store(args) as store:
        _service(store).save_rule(rule)
    print(f"added trigger rule {rule.id!r}: {_describe(rule)}")
    return 0


_SYMBOLS = {"eq": "=", "ne": "!=", "gte": ">=", "lte": "<=", "in": "in", "not_in": "not in"}


def condition_text(condition: Condition) -> str:
    """A condition as :func:`parse_condition` reads it back: ``customer.vip = true``."""
    if condition.op.value == "exists":
        return f"{condition.attribute} exists"
    symbol = _SYMBOLS[condition.op.value]
    return f"{condition.attribute} {symbol} {json.dumps(condition.value, ensure_ascii=False)}"


def _describe(rule: TriggerRule) -> str:
    when = " and ".join(condition_text(c) for c in rule.conditions)
    delay = "" if rule.delay == timedelta(0) else f" after {rule.delay}"
    return (
        f"on {rule.event}" + (f" when {when}" if when else "")
        + f", ask in campaign {rule.campaign!r}{delay}"
        + ("" if rule.enabled else " (disabled)")
    )  # fmt: skip


def _list(args: argparse.Namespace) -> int:
    from reviewkit.serialization import unstructure

    with open_store(args, readonly=True) as store:
        rules = store.trigger_rules()
    if args.format == "json":
        print(json.dumps([unstructure(rule) for rule in rules], ensure_ascii=False))
        return 0
    if not rules:
        print("no trigger rules")
        return 0
    table = [["ID", "EVENT", "CAMPAIGN", "DELAY", "ENABLED", "WHEN"]]
    for rule in rules:
        when = "; ".join(condition_text(c) for c in rule.conditions)
        table.append(
            [rule.id, rule.event, rule.campaign, str(rule.delay), "yes" if rule.enabled else "no",
             when]
        )  # fmt: skip
    print_table(table)
    return 0


def _remove(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        rule = _service(store).remove_rule(args.rule_id)
    print(f"removed trigger rule {rule.id!r}")
    return 0


def _attributes(pairs: list[str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for pair in pairs:
        key, equals, raw = pair.partition("=")
        if not equals or not key.strip():
            raise ValidationError(f"--attr {pair!r}: write KEY=VALUE")
        *parents, last = key.strip().split(".")
        place = attributes
        for part in parents:
            inner = place.setdefault(part, {})
            if not isinstance(inner, dict):
                raise ValidationError(f"--attr {pair!r}: {part} already has a value")
            place = inner
        place[last] = _value(raw)
    return attributes


def _report(args: argparse.Namespace) -> int:
    from reviewkit.domain.permissions import Actor
    from reviewkit.domain.request import Recipient
    from reviewkit.domain.triggers import HostEvent
    from reviewkit.domain.window import load_zone

    load_zone(args.timezone)
    event = HostEvent(
        type=args.type,
        entity_id=args.entity,
        recipient=Recipient(
            email=args.email, phone=args.phone, name=args.name, segment=args.segment
        ),
        attributes=_attributes(args.attr),
        at=parse_start(args.at, args.timezone) if args.at else None,
    )
    with open_store(args) as store:
        made = _service(store).report(Actor.system(), event)
        names = {r.campaign_id: store.get_campaign(r.campaign_id).name for r in made}
    rows = [
        {
            "request_id": r.id,
            "campaign": names[r.campaign_id],
            "address": r.address,
            "due_at": r.due_at.isoformat() if r.due_at else None,
        }
        for r in made
    ]
    if args.format == "json":
        print(json.dumps({"requests": rows}, ensure_ascii=False))
        return 0
    if not rows:
        print("no request queued: no rule matched, or each matching rule fired before")
    for row in rows:
        where = f"in campaign {row['campaign']!r}"
        print(f"queued request {row['request_id']} {where}, due {row['due_at']}")
    return 0
