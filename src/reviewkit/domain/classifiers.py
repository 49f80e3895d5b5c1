"""Outcome classifiers: named results an operator, the host or a rule gives a request
("call back later", "wrong address", "complaint", "resolved"), each with flags and follow-up
actions that run by themselves.

A :class:`Classifier` says what its name means — whether it *closes* the request (nothing
more is sent for it), counts as a *success* in reports, may be given on which channels — and
what happens next:

- *recall*: send the request again after ``recall_after``, inside the campaign's window, as
  long as ``recall_for`` has not passed since the request was first classified;
- *move_to*: ask the customer again in another campaign (the request here is closed);
- *blocklist*: the address is never sent to again;
- *send*: queue a message from other campaigns (an e-mail, an SMS) to the customer;
- *task*: open a follow-up task for someone.

A :class:`Classification` records who gave which classifier to which request, and when.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

import attrs

from reviewkit.domain.campaign import Channel
from reviewkit.domain.ids import new_id
from reviewkit.domain.instants import as_utc
from reviewkit.errors import ValidationError

__all__ = ["Classification", "Classifier", "TaskTemplate", "first_classified"]


def _check_name(_: object, __: object, value: str) -> None:
    if not value.strip():
        raise ValidationError("a classifier needs a name")
    if any(ord(c) < 32 for c in value):
        raise ValidationError(f"classifier name {value!r} contains a control character")


def _channels(values: Collection[Channel | str]) -> frozenset[Channel]:
    return frozenset(Channel(c) for c in values)


def _names(values: Collection[str]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


@attrs.frozen(kw_only=True)
class TaskTemplate:
    """The task a classifier opens: its title (``{classifier}`` and ``{customer}`` are
    filled in), who gets it, and within how much of their working time."""

    title: str = "{classifier}: {customer}"
    assignee: str
    within: timedelta | None = None


@attrs.frozen(kw_only=True)
class Classifier:
    """What a result means and what follows it.

    :ivar channels: the channels it may be given on (all by default).
    :ivar closes: nothing more is sent for the request (a pending one is cancelled).
    :ivar success: counts as reaching the campaign's goal in reports.
    :ivar private: the request is kept private to whoever classified it.
    :ivar recall_after: send the request again after this long.
    :ivar recall_for: stop recalling once this long has passed since it was first classified.
    :ivar move_to: the campaign that asks the customer again.
    :ivar blocklist: never send to the address again.
    :ivar send: campaigns whose message goes to the customer now.
    :ivar task: a task to open.
    """

    name: str = attrs.field(validator=_check_name)
    channels: frozenset[Channel] = attrs.field(default=frozenset(Channel), converter=_channels)
    closes: bool = False
    success: bool = False
    private: bool = False
    recall_after: timedelta | None = None
    recall_for: timedelta | None = None
    move_to: str | None = None
    blocklist: bool = False
    send: tuple[str, ...] = attrs.field(default=(), converter=_names)
    task: TaskTemplate | None = None

    def __attrs_post_init__(self) -> None:
        if not self.channels:
            raise ValidationError(f"classifier {self.name!r} is allowed on no channel")
        if self.recall_after is not None:
            if self.recall_after <= timedelta(0):
                raise ValidationError(f"classifier {self.name!r}: recall_after must be positive")
            if self.closes or self.blocklist or self.move_to:
                raise ValidationError(
                    f"classifier {self.name!r} cannot both recall the request and close, "
                    "blocklist or move it"
                )
        if self.recall_for is not None and self.recall_after is None:
            raise ValidationError(f"classifier {self.name!r}: recall_for needs recall_after")

    def recalls_at(self, now: datetime, first: datetime | None) -> datetime | None:
        """When the request is sent again, classified at *now* and first classified at
        *first* — or ``None`` (no recall, or its time is up)."""
        if self.recall_after is None:
            return None
        due = as_utc(now) + self.recall_after
        start = as_utc(first) if first is not None else as_utc(now)
        if self.recall_for is not None and due > start + self.recall_for:
            return None
        return due


@attrs.frozen(kw_only=True)
class Classification:
    """A classifier given to a request.

    :ivar by: who gave it (an operator, ``"host"``, a rule's name).
    :ivar private_to: whom the request is private to, when the classifier makes it private.
    """

    id: str = attrs.field(factory=new_id)
    request_id: str
    campaign_id: str
    classifier: str
    at: datetime = attrs.field(converter=as_utc)
    by: str
    note: str | None = None
    success: bool = False
    private_to: str | None = None


def first_classified(history: Collection[Classification]) -> datetime | None:
    """When the request was first classified, from its classifications."""
    return min((c.at for c in history), default=None)
