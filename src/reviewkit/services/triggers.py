"""Trigger service: turn the host's events into survey requests by its rules.

::

    triggers = TriggerService(campaigns, rules=[rule, ...])
    triggers.report(actor, HostEvent(type="task.closed", entity_id="T-812",
                                 recipient=Recipient(email=...), attributes={...}))

Each matching rule enqueues one request in its campaign, at the event time plus its delay,
at most once per entity and rule (recorded in the store, so a repeated or replayed event
adds nothing). The request goes through the campaign like any other: window, pacing,
consent and suppression, tracking.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from reviewkit.domain.campaign import Campaign
from reviewkit.domain.instants import as_utc
from reviewkit.domain.permissions import Actor
from reviewkit.domain.request import Request
from reviewkit.domain.triggers import HostEvent, TriggerRule, gating_condition
from reviewkit.errors import ConflictError, NotFoundError, ValidationError
from reviewkit.services.campaigns import CampaignService

__all__ = ["TriggerService"]


class TriggerService:
    """Apply trigger rules to reported events: the rules given here (kept by the host, in
    its code or configuration) and the rules kept in the store (:meth:`save_rule`, the
    ``reviewkit trigger`` commands).

    :param campaigns: the campaign service requests are made through.
    :param rules: the host's rules; ids must be unique, also against the stored ones.
    """

    def __init__(self, campaigns: CampaignService, rules: Iterable[TriggerRule] = ()) -> None:
        self.campaigns = campaigns
        self.rules: list[TriggerRule] = []
        for rule in rules:
            self.add_rule(rule)

    def add_rule(self, rule: TriggerRule) -> None:
        """Add a rule.

        :raises ValidationError: another rule has the same id, or the rule would send
            public-review invitations only after a good score (review gating).
        """
        if any(r.id == rule.id for r in self.rules):
            raise ValidationError(f"there is already a trigger rule {rule.id!r}")
        self._check(rule)
        self.rules.append(rule)

    def save_rule(self, rule: TriggerRule) -> TriggerRule:
        """Keep *rule* in the store, where every process's :meth:`report` finds it.

        :raises ConflictError: a stored rule has the same id.
        :raises ValidationError: a rule given to this service has the same id, or the rule
            would send public-review invitations only after a good score (review gating).
        """
        if any(r.id == rule.id for r in self.rules):
            raise ValidationError(f"there is already a trigger rule {rule.id!r} (in code)")
        self._check(rule)
        return self.campaigns.store.add_trigger_rule(rule)

    def remove_rule(self, rule_id: str) -> TriggerRule:
        """Remove the stored rule *rule_id* and return it. What it fired for is kept: saved
        again, it does not fire twice for the same entity.

        :raises NotFoundError: no stored rule has that id.
        """
        return self.campaigns.store.remove_trigger_rule(rule_id)

    def all_rules(self) -> list[TriggerRule]:
        """The rules :meth:`report` applies: those given here, then the stored ones."""
        given = {r.id for r in self.rules}
        stored = [r for r in self.campaigns.store.trigger_rules() if r.id not in given]
        return [*self.rules, *stored]

    def _check(self, rule: TriggerRule) -> None:
        try:
            campaign = self.campaigns.store.get_campaign(rule.campaign)
        except NotFoundError:
            pass  # checked again when the rule fires
        else:
            _refuse_gating(rule, campaign)

    def report(self, actor: Actor, event: HostEvent) -> list[Request]:
        """Apply every rule (:meth:`all_rules`) to *event*; return the requests it made.

        :raises NotFoundError: a matching rule names a campaign that does not exist.
        :raises ValidationError: the event's recipient has no address for that campaign's
            channel (nothing is recorded for that rule, so a corrected event can fire it).
        """
        store = self.campaigns.store
        now = as_utc(self.campaigns.clock.now())
        made = []
        recipient = event.recipient
        if not recipient.transaction_id:
            recipient = attrs.evolve(recipient, transaction_id=event.entity_id)
        happened = now if event.at is None else as_utc(event.at, "the event time")
        for rule in self.all_rules():
            if not rule.matches(event):
                continue
            try:
                campaign = store.get_campaign(rule.campaign)
            except NotFoundError:
                raise NotFoundError(
                    f"trigger rule {rule.id!r} names campaign {rule.campaign!r}, which does "
                    "not exist"
                ) from None
            _refuse_gating(rule, campaign)  # the campaign may have become public since
            with store.transaction():
                if not store.record_firing(rule.id, event.entity_id, now):
                    continue  # fired before for this entity
                try:
                    made.append(
                        self.campaigns.request(
                            actor, rule.campaign, recipient, at=happened + rule.delay
                        )
                    )
                except ConflictError:
                    pass  # the campaign already asks about this entity (another rule)
                except ValidationError as exc:
                    raise ValidationError(f"trigger rule {rule.id!r}: {exc}") from exc
        return made


def _refuse_gating(rule: TriggerRule, campaign: Campaign) -> None:
    """Refuse a rule that sends a public-review campaign only after a good score.

    :raises ValidationError: naming the condition and why.
    """
    condition = gating_condition(rule) if campaign.public_review else None
    if condition is not None:
        raise ValidationError(
            f"trigger rule {rule.id!r} sends the public-review campaign {campaign.name!r} "
            f"only when {condition.attribute} {condition.op.value} {condition.value!r}: "
            "inviting only satisfied customers to review publicly (review gating) breaks "
            "the review platforms' policies and misleads readers; invite every customer, "
            "or send a private survey instead"
        )
