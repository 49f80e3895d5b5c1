"""Trigger rules: send a survey when something happens in the host's system.

The host reports events — ``task.closed``, ``status.changed`` (with ``old_status`` and
``new_status``), ``purchase.delivered`` — with attributes. A rule names an event type,
conditions on its attributes, the survey campaign to enqueue into and a delay; it fires at
most once per entity (task, order) and rule.

Rules are plain data (attrs, stored and edited through ``reviewkit.serialization``)::

    TriggerRule(
        id="vip-service-done",
        event="status.changed",
        conditions=(
            Condition("new_status", "eq", "Completed"),
            Condition("customer.vip", "eq", True),
        ),
        campaign="service csat",
        delay=timedelta(hours=2),
    )
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

import attrs

from reviewkit.domain.request import Recipient
from reviewkit.errors import ValidationError

__all__ = ["SCORE_WORDS", "Condition", "HostEvent", "Operator", "TriggerRule", "gating_condition"]

_MISSING = object()


class Operator(enum.StrEnum):
    """How a condition compares an attribute."""

    EQ = "eq"
    """Equal to ``value``."""
    NE = "ne"
    """Present and not equal to ``value``."""
    IN = "in"
    """One of the list ``value``."""
    NOT_IN = "not_in"
    """Present and none of the list ``value``."""
    EXISTS = "exists"
    """The attribute is present and not empty (``value`` is ignored)."""
    GTE = "gte"
    """At least ``value``."""
    LTE = "lte"
    """At most ``value``."""


@attrs.frozen
class Condition:
    """A test on one attribute of an event; ``customer.vip`` reads nested mappings.

    :param value: what to compare with; a list for ``in`` / ``not_in``.
    """

    attribute: str
    op: Operator = attrs.field(converter=Operator)
    value: Any = None

    def __attrs_post_init__(self) -> None:
        if not self.attribute.strip():
            raise ValidationError("a condition needs an attribute")
        if self.op in (Operator.IN, Operator.NOT_IN) and not isinstance(
            self.value, (list, tuple, frozenset, set)
        ):
            raise ValidationError(f"condition {self.attribute} {self.op.value} needs a list")

    def holds(self, attributes: Mapping[str, Any]) -> bool:
        """Whether the condition holds for an event's *attributes*."""
        actual: Any = attributes
        for part in self.attribute.split("."):
            if not isinstance(actual, Mapping) or part not in actual:
                actual = _MISSING
                break
            actual = actual[part]
        if self.op is Operator.EXISTS:
            return actual is not _MISSING and actual not in (None, "", [], {})
        if actual is _MISSING:
            return False
        try:
            if self.op is Operator.EQ:
                return bool(actual == self.value)
            if self.op is Operator.NE:
                return bool(actual != self.value)
            if self.op is Operator.IN:
                return actual in self.value
            if self.op is Operator.NOT_IN:
                return actual not in self.value
            if self.op is Operator.GTE:
                return bool(actual >= self.value)
            return bool(actual <= self.value)
        except TypeError:  # comparing a number with text: the condition does not hold
            return False


def _check_id(_: object, __: attrs.Attribute[str], value: str) -> None:
    if not value or not value.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ValidationError(f"rule id {value!r}: use letters, digits, - _ and .")


def _conditions(value: Iterable[Condition]) -> tuple[Condition, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class TriggerRule:
    """When *event* happens and every condition holds, enqueue a request in *campaign*
    after *delay* — once per entity.

    :param id: stable name; "once per entity and rule" is kept by it.
    """

    id: str = attrs.field(validator=_check_id)
    event: str
    conditions: tuple[Condition, ...] = attrs.field(default=(), converter=_conditions)
    campaign: str
    delay: timedelta = timedelta(0)
    enabled: bool = True

    def __attrs_post_init__(self) -> None:
        if self.delay < timedelta(0):
            raise ValidationError(f"rule {self.id}: the delay cannot be negative")

    def matches(self, event: HostEvent) -> bool:
        """Whether this rule fires for *event*."""
        return (
            self.enabled
            and event.type == self.event
            and all(c.holds(event.attributes) for c in self.conditions)
        )


SCORE_WORDS = frozenset(
    {"score", "nps", "csat", "ces", "rating", "stars", "satisfaction", "sentiment", "grade"}
)
"""Attribute names (the last part of a path) that read how satisfied a customer is."""


def gating_condition(rule: TriggerRule) -> Condition | None:
    """The condition of *rule* that reads a satisfaction score or a survey answer, if any:
    a rule sending public-review invitations on it would invite only happy customers."""
    for condition in rule.conditions:
        parts = condition.attribute.lower().split(".")
        if parts[-1] in SCORE_WORDS or parts[0] in ("answer", "survey", "feedback"):
            return condition
    return None


def _freeze(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


def _check_aware(_: object, __: attrs.Attribute[datetime | None], value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValidationError("an event time must be timezone-aware")


@attrs.frozen(kw_only=True)
class HostEvent:
    """Something that happened in the host's system.

    :param type: ``task.closed``, ``status.changed``, ``purchase.delivered``, …
    :param entity_id: the task, ticket or order it is about (the request's transaction id).
    :param recipient: whom to ask.
    :param attributes: what rules test (``new_status``, ``customer``: {``vip``: true}, …).
    :param at: when it happened (now, if not given); the delay counts from here.
    """

    type: str
    entity_id: str
    recipient: Recipient
    attributes: Mapping[str, Any] = attrs.field(factory=dict, converter=_freeze)
    at: datetime | None = attrs.field(default=None, validator=_check_aware)
