"""Turning reviewkit's models into plain data (JSON-ready) and back, with cattrs.

``converter.unstructure(campaign)`` gives dicts, lists, strings and numbers;
``converter.structure(data, Campaign)`` rebuilds the model, running its validators.
Datetimes are ISO 8601 with their offset, dates and local times ISO, durations seconds.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any, TypeVar

import cattrs
from cattrs.preconf.json import make_converter
from cattrs.strategies import configure_tagged_union

from reviewkit.domain.alerts import AlertRule
from reviewkit.domain.reports import ReportMetric, metric_of
from reviewkit.errors import ValidationError

__all__ = [
    "converter",
    "read_data",
    "rule_from_data",
    "rule_to_data",
    "structure",
    "unstructure",
]

_T = TypeVar("_T")

converter = make_converter()
"""The converter every reviewkit adapter uses; hosts may use it for their own storage."""

converter.register_unstructure_hook(datetime, lambda d: d.isoformat())
converter.register_structure_hook(datetime, lambda v, _: _aware(v))
converter.register_unstructure_hook(date, lambda d: d.isoformat())
converter.register_structure_hook(date, lambda v, _: date.fromisoformat(v))
converter.register_unstructure_hook(time, lambda t: t.isoformat())
converter.register_structure_hook(time, lambda v, _: _local_time(v))
converter.register_unstructure_hook(timedelta, lambda t: t.total_seconds())
converter.register_structure_hook(timedelta, lambda v, _: timedelta(seconds=v))
converter.register_unstructure_hook(MappingProxyType, lambda m: dict(m))
# Sets are written sorted, so equal models give identical JSON.
converter.register_unstructure_hook_factory(
    lambda t: getattr(t, "__origin__", t) in (frozenset, set),
    lambda t: lambda value: sorted(converter.unstructure(v) for v in value),
)

# A report metric read from a file names the choices when it is not one of them.
converter.register_structure_hook(ReportMetric, lambda v, _: metric_of(v))

# An alert rule is written with its kind: {"kind": "LevelRule", ...}.
configure_tagged_union(AlertRule, converter, tag_name="kind")


def _aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValidationError(f"datetime {value!r} has no UTC offset")
    return parsed


def _local_time(value: str) -> time:
    parsed = time.fromisoformat(value)
    if parsed.tzinfo is not None:
        raise ValidationError(f"time {value!r} is a local wall-clock time: drop its offset")
    return parsed


def unstructure(obj: object) -> Any:
    """Return *obj* as plain data."""
    return converter.unstructure(obj)


def structure(data: Any, cls: type[_T]) -> _T:
    """Rebuild a *cls* from plain data.

    :raises ValidationError: when the data does not describe a valid *cls*.
    """
    try:
        return converter.structure(data, cls)
    except ValidationError:
        raise
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        name = getattr(cls, "__name__", str(cls))
        raise ValidationError(f"cannot read a {name} from stored data: {exc}") from exc


def rule_to_data(rule: AlertRule) -> dict[str, Any]:
    """Return an alert rule as plain data, its kind in ``"kind"`` (``"LevelRule"``)."""
    data: dict[str, Any] = converter.unstructure(rule, unstructure_as=AlertRule)
    return data


def rule_from_data(data: Any) -> AlertRule:
    """Rebuild an alert rule from :func:`rule_to_data`'s data.

    :raises ValidationError: when the data does not describe a valid rule (naming why).
    """
    if not isinstance(data, dict) or data.get("kind") not in _RULE_KINDS:
        raise ValidationError(
            f"an alert rule needs a kind, one of {', '.join(sorted(_RULE_KINDS))}"
        )
    rule: AlertRule = read_data(data, AlertRule, f"a {data['kind']}")  # type: ignore[arg-type]
    return rule


def read_data(data: Any, cls: type[_T], what: str) -> _T:
    """Rebuild a *cls* from data a person wrote (a JSON file, an API body), saying what is
    wrong in their terms: reviewkit's own validation messages, else where in the data
    (``$.recurrence.every``) cattrs found a bad value.

    :param what: how the message names the thing (``"a report definition"``).
    :raises ValidationError: ``cannot read {what}: …``.
    """
    try:
        return converter.structure(data, cls)
    except ValidationError:
        raise
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        ours = [str(e) for e in _leaves(exc) if isinstance(e, ValidationError)]
        if ours:
            details = "; ".join(ours)
        elif isinstance(exc, cattrs.BaseValidationError):
            details = "; ".join(cattrs.transform_error(exc))
        else:
            details = str(exc)
        raise ValidationError(f"cannot read {what}: {details}") from exc


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside cattrs' exception groups."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


_RULE_KINDS = {cls.__name__ for cls in AlertRule.__args__}
