"""The ``alerts`` and ``tasks`` command groups of the ``reviewkit`` command line.

Routes and people come from JSON files written for people (durations as ``"30s"``, ``"4h"``;
windows as ``"days": "mon-fri", "hours": "09:00-17:00", "holidays": "PL"``); rules are the
JSON that :func:`reviewkit.serialization.rule_to_data` writes.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from datetime import time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from reviewkit.cli import command_help, open_store, parse_interval, print_table
from reviewkit.domain.campaign import Channel
from reviewkit.domain.permissions import Actor
from reviewkit.domain.tasks import Assignee, Task, TaskStatus
from reviewkit.domain.window import HolidayCalendar, SendWindow
from reviewkit.errors import ValidationError

if TYPE_CHECKING:  # imported where used, so that `reviewkit --help` starts quickly
    from reviewkit.adapters.relational import RelationalStore
    from reviewkit.domain.alerts import Alert
    from reviewkit.domain.classifiers import Classifier
    from reviewkit.domain.notifications import Route
    from reviewkit.ports import Transport
    from reviewkit.services.alerts import AlertChore, AlertService
    from reviewkit.services.tasks import TaskChore, TaskService

__all__ = [
    "configure_alerts",
    "configure_classify",
    "configure_tasks",
    "load_classifiers",
    "load_people",
    "load_routes",
    "task_chore",
]

_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
OpenStore = Callable[..., "RelationalStore"]


def configure_alerts(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``alerts`` command group."""
    from reviewkit.domain.alerts import AlertState

    alerts = commands.add_parser("alerts", help=command_help("alerts"))
    actions = alerts.add_subparsers(dest="action", required=True, metavar="ACTION")
    rules = actions.add_parser("rules", help="add, list and remove alert rules")
    rule_actions = rules.add_subparsers(dest="rules_action", required=True, metavar="ACTION")
    add = rule_actions.add_parser("add", parents=[common], help="add rules from a JSON file")
    add.add_argument("file", type=Path, metavar="FILE.json", help="a rule or a list of rules")
    add.set_defaults(handler=_rules_add)
    listing = rule_actions.add_parser("list", parents=[common], help="the rules")
    listing.add_argument("--format", choices=["table", "json"], default="table")
    listing.set_defaults(handler=_rules_list)
    remove = rule_actions.add_parser("remove", parents=[common], help="remove a rule")
    remove.add_argument("name")
    remove.set_defaults(handler=_rules_remove)

    evaluate = actions.add_parser(
        "evaluate",
        parents=[common],
        help="evaluate the level, drop, trend and topic rules now",
        description="Evaluate every rule over the answers in the database; alerts that fire "
        "or resolve queue notifications for the routes in --routes.",
    )
    evaluate.add_argument("--routes", type=Path, metavar="FILE.json", help="who hears what")
    evaluate.add_argument(
        "--people",
        type=Path,
        metavar="FILE.json",
        help="the assignees of the tasks routes open (task_within)",
    )
    evaluate.add_argument("--link", metavar="URL", help=_link_help())
    evaluate.add_argument("--format", choices=["table", "json"], default="table")
    evaluate.set_defaults(handler=_evaluate)

    shown = actions.add_parser("list", parents=[common], help="the alerts")
    shown.add_argument("--state", action="append", choices=[s.value for s in AlertState])
    shown.add_argument("--format", choices=["table", "json"], default="table")
    shown.set_defaults(handler=_alerts_list)

    resolve = actions.add_parser("resolve", parents=[common], help="resolve an alert by hand")
    resolve.add_argument("fingerprint")
    resolve.add_argument("--routes", type=Path, metavar="FILE.json")
    resolve.set_defaults(handler=_resolve)

    silence = actions.add_parser("silence", parents=[common], help="mute matching alerts")
    silence.add_argument("--match", action="append", required=True, metavar="LABEL=VALUE")
    silence.add_argument(
        "--for", dest="span", required=True, metavar="DURATION", help="how long, e.g. 2h"
    )
    silence.add_argument("--comment", default="")
    silence.add_argument("--by", default="")
    silence.set_defaults(handler=_silence)
    silences = actions.add_parser("silences", parents=[common], help="the silences")
    silences.add_argument("--all", action="store_true", help="ended ones too")
    silences.set_defaults(handler=_silences)
    unsilence = actions.add_parser("unsilence", parents=[common], help="end a silence")
    unsilence.add_argument("id")
    unsilence.set_defaults(handler=_unsilence)

    deliver = actions.add_parser(
        "deliver",
        parents=[common],
        help="send due notifications by e-mail",
        description="Claim the due notifications and send each receiver's as one e-mail, to "
        "a Maildir (--outbox) or an SMTP server (--smtp).",
    )
    target = deliver.add_mutually_exclusive_group(required=True)
    target.add_argument("--outbox", type=Path, metavar="DIR", help="a Maildir folder")
    target.add_argument("--smtp", metavar="URL", help="smtp[s]://user@host:port")
    deliver.add_argument("--to", action="append", required=True, metavar="RECEIVER=ADDRESS")
    deliver.add_argument("--from", dest="sender", metavar="ADDRESS")
    deliver.add_argument(
        "--lease",
        default="2m",
        metavar="DURATION",
        help="how long a claim holds before another worker may send (2m)",
    )
    deliver.set_defaults(handler=_deliver)


def configure_classify(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``classify`` command."""
    classify = commands.add_parser(
        "classify",
        parents=[common],
        help=command_help("classify"),
        description="Give a request a classifier from --classifiers (recall, move, "
        "blocklist, messages, tasks follow as the classifier says).",
    )
    classify.add_argument("request", metavar="REQUEST_ID")
    classify.add_argument("--as", dest="outcome", required=True, metavar="CLASSIFIER")
    classify.add_argument("--by", required=True, help="who classifies")
    classify.add_argument("--note")
    classify.add_argument("--classifiers", type=Path, required=True, metavar="FILE.json")
    classify.add_argument(
        "--people",
        type=Path,
        metavar="FILE.json",
        help="assignees, for classifiers that open tasks",
    )
    classify.set_defaults(handler=_classify)


def configure_tasks(commands: _Commands, common: argparse.ArgumentParser) -> None:
    """The ``tasks`` command group."""
    tasks = commands.add_parser("tasks", help=command_help("tasks"))
    actions = tasks.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[common], help="tasks by deadline")
    listing.add_argument("--status", action="append", choices=[s.value for s in TaskStatus])
    listing.add_argument("--assignee")
    listing.add_argument("--format", choices=["table", "json"], default="table")
    listing.set_defaults(handler=_tasks_list)
    opened = actions.add_parser("open", parents=[common], help="open a task")
    opened.add_argument("--title", required=True)
    opened.add_argument("--assignee", required=True)
    opened.add_argument("--within", metavar="DURATION", help="working time, e.g. 4h")
    opened.add_argument("--alert", metavar="FINGERPRINT", help="the alert it is about")
    opened.add_argument("--people", type=Path, required=True, metavar="FILE.json")
    opened.set_defaults(handler=_tasks_open)
    for name, help_text in [
        ("start", "start working on it"),
        ("done", "it is dealt with"),
        ("cancel", "it is not needed"),
    ]:
        move = actions.add_parser(name, parents=[common], help=help_text)
        move.add_argument("id")
        move.add_argument("--by", required=True)
        move.add_argument("--note")
        move.set_defaults(handler=_tasks_move, move=name)
    assign = actions.add_parser("assign", parents=[common], help="give it to someone else")
    assign.add_argument("id")
    assign.add_argument("assignee")
    assign.add_argument("--by", required=True)
    assign.add_argument("--people", type=Path, required=True, metavar="FILE.json")
    assign.set_defaults(handler=_tasks_assign)
    escalate = actions.add_parser("escalate", parents=[common], help="escalate overdue tasks")
    escalate.add_argument("--people", type=Path, required=True, metavar="FILE.json")
    escalate.set_defaults(handler=_tasks_escalate)


# -- files ------------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None


def _window(data: dict[str, Any], where: str) -> SendWindow:
    holidays = data.get("holidays")
    try:
        return SendWindow(
            weekdays=data.get("days", "mon-sun"),
            hours=data.get("hours", "00:00-24:00"),
            holidays=HolidayCalendar.parse(holidays) if holidays else None,
        )
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{where}: {exc}") from exc


def _duration(value: Any, where: str) -> timedelta | None:

    if value is None:
        return None
    if not isinstance(value, str | int):
        raise ValidationError(f'{where}: write a duration like "30s" or "4h"')
    return parse_interval(str(value))


def _link_help() -> str:
    from reviewkit.domain.notifications import LINK_FIELDS

    return (
        "a link to your page about the alert, put in each notification, e.g. "
        "https://shop.example/admin/answers/{answer_id} "
        f"(fields: {', '.join(LINK_FIELDS)})"
    )


def load_routes(path: Path | None) -> list[Route]:
    """Read routes from a JSON list: ``receiver``, ``matchers``, ``transitions``,
    ``group_by``, ``group_wait``, ``group_interval``, ``repeat_interval``, ``task_within``
    and ``digest`` (``every``, ``at``, ``weekday``, ``timezone``, ``days``, ``hours``,
    ``holidays``).

    :raises ValidationError: naming the route and what is wrong with it.
    """
    from reviewkit.domain.notifications import Digest, Route

    if path is None:
        return []
    data = _read_json(path)
    if not isinstance(data, list):
        raise ValidationError(f"{path}: a list of routes, please")
    routes = []
    for number, item in enumerate(data, start=1):
        where = f"{path}: route {number}"
        if not isinstance(item, dict) or "receiver" not in item:
            raise ValidationError(f"{where}: an object with a receiver, please")
        digest = item.get("digest")
        try:
            routes.append(
                Route(
                    receiver=item["receiver"],
                    matchers=item.get("matchers", {}),
                    transitions=item.get("transitions", ["fired", "resolved"]),
                    group_by=item.get("group_by", []),
                    group_wait=_duration(item.get("group_wait"), where) or timedelta(0),
                    group_interval=_duration(item.get("group_interval"), where) or timedelta(0),
                    repeat_interval=_duration(item.get("repeat_interval"), where),
                    task_within=_duration(item.get("task_within"), where),
                    digest=None
                    if digest is None
                    else Digest(
                        every=digest.get("every", "day"),
                        at=time.fromisoformat(digest.get("at", "08:00")),
                        weekday=digest.get("weekday", 0),
                        timezone=digest.get("timezone", "UTC"),
                        window=_window(digest, where),
                    ),
                )
            )
        except ValidationError as exc:
            raise ValidationError(f"{where}: {exc}") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValidationError(f"{where}: {exc}") from exc
    return routes


def load_people(path: Path) -> list[Assignee]:
    """Read assignees from a JSON list: ``name``, ``email``, ``phone``, ``timezone``,
    ``days``, ``hours``, ``holidays``, ``escalate_to``.

    :raises ValidationError: naming the person and what is wrong.
    """
    data = _read_json(path)
    if not isinstance(data, list):
        raise ValidationError(f"{path}: a list of people, please")
    people = []
    for number, item in enumerate(data, start=1):
        where = f"{path}: person {number}"
        if not isinstance(item, dict) or "name" not in item:
            raise ValidationError(f"{where}: an object with a name, please")
        try:
            people.append(
                Assignee(
                    name=item["name"],
                    email=item.get("email"),
                    timezone=item.get("timezone", "UTC"),
                    window=_window(item, where),
                    escalate_to=item.get("escalate_to"),
                    phone=item.get("phone"),
                )
            )
        except ValidationError as exc:
            raise ValidationError(f"{where}: {exc}") from None
    return people


def load_classifiers(path: Path) -> list[Classifier]:
    """Read classifiers from a JSON list: ``name``, ``channels``, ``closes``, ``success``,
    ``private``, ``recall_after`` and ``recall_for`` (durations like ``"30m"`` or
    ``"168h"``), ``move_to``, ``blocklist``, ``send`` (campaign names) and ``task``
    (``title``, ``assignee``, ``within``).

    :raises ValidationError: naming the classifier and what is wrong.
    """
    from reviewkit.domain.classifiers import Classifier, TaskTemplate

    data = _read_json(path)
    if not isinstance(data, list):
        raise ValidationError(f"{path}: a list of classifiers, please")
    found = []
    for number, item in enumerate(data, start=1):
        where = f"{path}: classifier {number}"
        if not isinstance(item, dict) or "name" not in item:
            raise ValidationError(f"{where}: an object with a name, please")
        task = item.get("task")
        try:
            found.append(
                Classifier(
                    name=item["name"],
                    channels=item.get("channels", [c.value for c in Channel]),
                    closes=bool(item.get("closes", False)),
                    success=bool(item.get("success", False)),
                    private=bool(item.get("private", False)),
                    recall_after=_duration(item.get("recall_after"), where),
                    recall_for=_duration(item.get("recall_for"), where),
                    move_to=item.get("move_to"),
                    blocklist=bool(item.get("blocklist", False)),
                    send=item.get("send", []),
                    task=None
                    if task is None
                    else TaskTemplate(
                        title=task.get("title", "{classifier}: {customer}"),
                        assignee=task["assignee"],
                        within=_duration(task.get("within"), where),
                    ),
                )
            )
        except ValidationError as exc:
            raise ValidationError(f"{where}: {exc}") from None
        except (TypeError, ValueError, KeyError) as exc:
            raise ValidationError(f"{where}: {exc}") from exc
    return found


# -- handlers ---------------------------------------------------------------------------------


def _service(
    store: RelationalStore,
    routes: Path | None = None,
    people: Path | None = None,
    link: str | None = None,
) -> AlertService:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.services.alerts import AlertService

    tasks = None if people is None else _tasks_service(store, people)
    return AlertService(store, SystemClock(), routes=load_routes(routes), tasks=tasks, link=link)


def _rules_add(args: argparse.Namespace) -> int:
    from reviewkit.serialization import rule_from_data

    data = _read_json(args.file)
    items = data if isinstance(data, list) else [data]
    rules = [rule_from_data(item) for item in items]  # all checked before any is stored
    with open_store(args) as store, store.transaction():
        service = _service(store)
        for rule in rules:
            service.add_rule(rule)
    print(f"added {len(rules)} rule{'s' if len(rules) != 1 else ''}")
    return 0


def _rules_list(args: argparse.Namespace) -> int:
    from reviewkit.serialization import rule_to_data

    with open_store(args, readonly=True) as store:
        rules = _service(store).rules()
    if args.format == "json":
        print(json.dumps([rule_to_data(r) for r in rules], ensure_ascii=False, indent=2))
        return 0
    table = [["name", "kind", "survey", "by", "severity"]]
    table += [
        [r.name, type(r).__name__, r.survey.value, getattr(r, "by", None) or "-", r.severity.value]
        for r in rules
    ]
    print_table(table)
    return 0


def _rules_remove(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        rule = _service(store).remove_rule(args.name)
    print(f"removed rule {rule.name}")
    return 0


def _alert_record(alert: Alert) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "rule": alert.rule_name,
        "group": alert.group,
        "state": alert.state.value,
        "labels": dict(alert.labels),
        "started_at": alert.started_at.isoformat(),
        "fired_at": alert.fired_at.isoformat() if alert.fired_at else None,
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "summary": alert.evidence.summary,
        "comment": alert.evidence.comment,
    }


def _show_alerts(alerts: Sequence[Alert], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps([_alert_record(a) for a in alerts], ensure_ascii=False, indent=2))
        return
    if not alerts:
        print("no alerts")
        return
    table = [["state", "rule", "group", "since", "fingerprint", "summary"]]
    table += [
        [
            a.state.value,
            a.rule_name,
            a.group or "-",
            f"{a.started_at:%Y-%m-%d %H:%M %Z}",
            a.fingerprint,
            a.evidence.summary,
        ]
        for a in alerts
    ]
    print_table(table)


def _evaluate(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        result = _service(store, args.routes, args.people, args.link).evaluate()
    if args.format == "json":
        print(
            json.dumps(
                {
                    "fired": [_alert_record(a) for a in result.fired],
                    "resolved": [_alert_record(a) for a in result.resolved],
                    "pending": [_alert_record(a) for a in result.pending],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    print(
        f"{len(result.fired)} fired, {len(result.resolved)} resolved, {len(result.pending)} pending"
    )
    for alert in (*result.fired, *result.resolved):
        print(f"  {alert.state.value}: {alert.rule_name}: {alert.evidence.summary}")
    return 0


def _alerts_list(args: argparse.Namespace) -> int:
    from reviewkit.domain.alerts import AlertState

    states = [AlertState(s) for s in args.state] if args.state else None
    with open_store(args, readonly=True) as store:
        alerts = _service(store).alerts(states)
    _show_alerts(alerts, args.format)
    return 0


def _resolve(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        alert = _service(store, args.routes).resolve(args.fingerprint)
    print(f"resolved {alert.rule_name} ({alert.fingerprint})")
    return 0


def _silence(args: argparse.Namespace) -> int:
    from reviewkit.adapters.clock import SystemClock

    matchers = {}
    for item in args.match:
        label, sep, value = item.partition("=")
        if not sep or not label:
            raise ValidationError(f"--match {item!r}: write LABEL=VALUE, like store=Kraków")
        matchers[label] = value
    span = _duration(args.span, "--for")
    if span is None or span <= timedelta(0):
        raise ValidationError("--for must be a positive duration, like 2h")
    clock = SystemClock()
    with open_store(args) as store:
        silence = _service(store).silence(
            matchers, until=clock.now() + span, comment=args.comment, created_by=args.by
        )
    print(f"silence {silence.id} until {silence.ends_at.isoformat()}")
    return 0


def _silences(args: argparse.Namespace) -> int:
    with open_store(args, readonly=True) as store:
        silences = _service(store).silences(active=not args.all)
    if not silences:
        print("no silences")
        return 0
    table = [["id", "matchers", "from", "until", "by", "comment"]]
    table += [
        [
            s.id,
            ", ".join(f"{k}={v}" for k, v in s.matchers.items()),
            f"{s.starts_at:%Y-%m-%d %H:%M %Z}",
            f"{s.ends_at:%Y-%m-%d %H:%M %Z}",
            s.created_by,
            s.comment,
        ]
        for s in silences
    ]
    print_table(table)
    return 0


def _unsilence(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        _service(store).unsilence(args.id)
    print(f"silence {args.id} ended")
    return 0


def parse_receivers(items: Sequence[str], option: str) -> dict[str, str]:
    """``RECEIVER=ADDRESS`` items of an option, as a mapping.

    :raises ValidationError: an item without both parts.
    """
    addresses = {}
    for item in items:
        receiver, sep, address = item.partition("=")
        if not sep or not receiver or not address:
            raise ValidationError(f"{option} {item!r}: write RECEIVER=ADDRESS")
        addresses[receiver] = address
    return addresses


def alert_chore(
    store: RelationalStore, args: argparse.Namespace, transport: Transport, worker_id: str | None
) -> AlertChore | None:
    """The alert evaluation ``dispatch`` runs between passes, from its ``--alert…`` options
    (``None`` with ``--alerts-every off``)."""
    from reviewkit.adapters.notifier import TransportNotifier
    from reviewkit.services.alerts import AlertChore

    if args.alerts_every == "off":
        return None
    every = _duration(args.alerts_every, "--alerts-every")
    if every is None or every <= timedelta(0):
        raise ValidationError("--alerts-every must be a positive duration, like 1m, or off")
    addresses = parse_receivers(args.alert_to, "--alert-to")
    notifier = (
        TransportNotifier(transport, addresses=addresses, sender=args.alert_from)
        if addresses
        else None
    )
    return AlertChore(
        _service(store, args.alert_routes, args.alert_people, args.alert_link),
        notifier,
        every=every,
        worker_id=worker_id,
    )


def task_chore(store: RelationalStore, args: argparse.Namespace) -> TaskChore | None:
    """The escalation of overdue tasks ``dispatch`` runs between passes when it is given
    ``--alert-people``."""
    from reviewkit.services.tasks import TaskChore

    if args.alert_people is None:
        return None
    return TaskChore(_tasks_service(store, args.alert_people))


def add_alert_options(parser: argparse.ArgumentParser) -> None:
    """``dispatch``'s options for evaluating alerts between passes."""
    parser.add_argument(
        "--alerts-every",
        default="1m",
        metavar="INTERVAL",
        help="evaluate the alert rules this often while dispatching (1m; off: never)",
    )
    parser.add_argument("--alert-routes", type=Path, metavar="FILE.json", help="who hears what")
    parser.add_argument(
        "--alert-people",
        type=Path,
        metavar="FILE.json",
        help="the assignees of the tasks routes open; their overdue tasks escalate",
    )
    parser.add_argument(
        "--alert-to",
        action="append",
        default=[],
        metavar="RECEIVER=ADDRESS",
        help="deliver the notifications of RECEIVER by e-mail (else they wait for "
        "'alerts deliver')",
    )
    parser.add_argument("--alert-from", metavar="ADDRESS", help="the From of notifications")
    parser.add_argument("--alert-link", metavar="URL", help=_link_help())


def _deliver(args: argparse.Namespace) -> int:
    from reviewkit.adapters.maildir import MaildirTransport
    from reviewkit.adapters.notifier import TransportNotifier
    from reviewkit.adapters.smtp import SMTPTransport, account_from_url

    addresses = parse_receivers(args.to, "--to")
    transport: Transport = (
        MaildirTransport(args.outbox)
        if args.outbox
        else SMTPTransport([account_from_url(args.smtp)])
    )
    lease = _duration(args.lease, "--lease")
    if lease is None or lease <= timedelta(0):
        raise ValidationError("--lease must be a positive duration, like 2m")
    notifier = TransportNotifier(transport, addresses=addresses, sender=args.sender)
    with open_store(args) as store:
        sent = _service(store).deliver(notifier, lease=lease)
    transport.close()
    print(f"{sent} notification{'s' if sent != 1 else ''} delivered")
    return 0


def _tasks_service(store: RelationalStore, people: Path | None) -> TaskService:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.services.tasks import TaskService

    return TaskService(store, SystemClock(), assignees=load_people(people) if people else ())


def _task_record(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "title": task.title,
        "assignee": task.assignee,
        "status": task.status.value,
        "deadline": task.deadline.isoformat() if task.deadline else None,
        "alert": task.alert,
        "escalations": task.escalations,
        "notes": [{"at": n.at.isoformat(), "author": n.author, "text": n.text} for n in task.notes],
    }


def _tasks_list(args: argparse.Namespace) -> int:
    statuses = [TaskStatus(s) for s in args.status] if args.status else None
    with open_store(args, readonly=True) as store:
        tasks = _tasks_service(store, None).tasks(statuses, args.assignee)
    if args.format == "json":
        print(json.dumps([_task_record(t) for t in tasks], ensure_ascii=False, indent=2))
        return 0
    if not tasks:
        print("no tasks")
        return 0
    table = [["id", "status", "assignee", "deadline", "title"]]
    table += [
        [
            t.id,
            t.status.value,
            t.assignee,
            f"{t.deadline:%Y-%m-%d %H:%M %Z}" if t.deadline else "-",
            t.title,
        ]
        for t in tasks
    ]
    print_table(table)
    return 0


def _tasks_open(args: argparse.Namespace) -> int:
    within = _duration(args.within, "--within")
    with open_store(args) as store:
        task = _tasks_service(store, args.people).open(
            args.title, assignee=args.assignee, within=within, alert=args.alert
        )
    due = f", due {task.deadline.isoformat()}" if task.deadline else ""
    print(f"task {task.id} opened for {task.assignee}{due}")
    return 0


def _tasks_move(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        service = _tasks_service(store, None)
        if args.move == "start":
            task = service.start(args.id, by=args.by)
            if args.note:
                task = service.note(args.id, args.note, by=args.by)
        elif args.move == "done":
            task = service.done(args.id, by=args.by, note=args.note)
        else:
            task = service.cancel(args.id, by=args.by, note=args.note)
    print(f"task {task.id} is {task.status.value}")
    return 0


def _tasks_assign(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        task = _tasks_service(store, args.people).assign(args.id, args.assignee, by=args.by)
    print(f"task {task.id} assigned to {task.assignee}")
    return 0


def _tasks_escalate(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        moved = _tasks_service(store, args.people).escalate()
    for task in moved:
        print(f"task {task.id} escalated to {task.assignee}")
    print(f"{len(moved)} escalated")
    return 0


def _classify(args: argparse.Namespace) -> int:
    from reviewkit.adapters.clock import SystemClock
    from reviewkit.services.campaigns import CampaignService
    from reviewkit.services.classifiers import ClassifierService
    from reviewkit.services.tasks import TaskService

    classifiers = load_classifiers(args.classifiers)
    people = load_people(args.people) if args.people else []
    clock = SystemClock()
    with open_store(args) as store:
        campaigns = CampaignService(store, clock)
        tasks = TaskService(store, clock, assignees=people) if people else None
        service = ClassifierService(
            store, clock, campaigns, Actor.system(), classifiers=classifiers, tasks=tasks
        )
        made = service.classify(args.request, args.outcome, by=args.by, note=args.note)
    print(f"request {made.request_id} classified {made.classifier!r}")
    return 0
