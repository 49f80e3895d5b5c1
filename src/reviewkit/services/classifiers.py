"""Classifying requests: the result an operator, the host or a rule gives a request, and the
follow-up actions that run by themselves.

::

    outcomes = ClassifierService(store, clock, campaigns, actor, classifiers=[
        Classifier(name="call back later", recall_after=timedelta(minutes=30),
                   recall_for=timedelta(days=7)),
        Classifier(name="wrong address", closes=True, blocklist=True),
        Classifier(name="complaint", task=TaskTemplate(assignee="care", within=timedelta(hours=4))),
        Classifier(name="resolved", closes=True, success=True),
    ], tasks=tasks)
    outcomes.classify(request_id, "call back later", by="ola")

The classification and every action it takes are written in one transaction: a recall, a
move, a blocklist entry and the messages it queues happen together or not at all (a task's
push to the host's tracker follows the commit).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

import attrs

from reviewkit.domain.classifiers import Classification, Classifier, first_classified
from reviewkit.domain.instants import as_utc
from reviewkit.domain.permissions import Actor
from reviewkit.domain.request import Request, RequestStatus
from reviewkit.domain.suppression import Suppression, SuppressionReason
from reviewkit.errors import ValidationError
from reviewkit.ports import Clock, Store
from reviewkit.services.campaigns import CampaignService
from reviewkit.services.tasks import TaskService

__all__ = ["ClassifierService"]

log = logging.getLogger(__name__)

_SENT_OR_ENDED = {RequestStatus.SENT, RequestStatus.FAILED, RequestStatus.SUPPRESSED}


class ClassifierService:
    """Give requests a classifier and run what follows.

    :param campaigns: queues the recalls, moves and messages, acting as *actor*.
    :param classifiers: the named results (their names unique).
    :param tasks: opens the tasks classifiers ask for (required if any does).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        campaigns: CampaignService,
        actor: Actor,
        *,
        classifiers: Iterable[Classifier],
        tasks: TaskService | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.campaigns = campaigns
        self.actor = actor
        self.tasks = tasks
        self.classifiers: dict[str, Classifier] = {}
        for classifier in classifiers:
            if classifier.name in self.classifiers:
                raise ValidationError(f"two classifiers are named {classifier.name!r}")
            if classifier.task is not None and tasks is None:
                raise ValidationError(
                    f"classifier {classifier.name!r} opens tasks: give the service a TaskService"
                )
            self.classifiers[classifier.name] = classifier

    def classify(
        self, request_id: str, name: str, *, by: str, note: str | None = None
    ) -> Classification:
        """Give the request the classifier *name* and run its actions.

        :raises NotFoundError: no such request, or a campaign it moves or sends to.
        :raises ValidationError: an unknown classifier, or one not allowed on the request's
            channel.
        """
        classifier = self.classifiers.get(name)
        if classifier is None:
            known = ", ".join(sorted(self.classifiers)) or "none"
            raise ValidationError(f"no classifier {name!r} (classifiers: {known})")
        now = as_utc(self.clock.now())
        with self.store.transaction():
            request = self.store.get_request(request_id)
            if request.channel not in classifier.channels:
                raise ValidationError(
                    f"classifier {name!r} is not for the {request.channel.value} channel"
                )
            history = self.store.classifications(request_id=request.id)
            classification = Classification(
                request_id=request.id,
                campaign_id=request.campaign_id,
                classifier=classifier.name,
                at=now,
                by=by,
                note=note,
                success=classifier.success,
                private_to=by if classifier.private else None,
            )
            self.store.add_classification(classification)
            self._act(classifier, request, first_classified(history), note)
        if classifier.task is not None and self.tasks is not None:
            self._open_task(classifier, request, note)
        log.info("request %s classified %r by %s", request.id, classifier.name, by)
        return classification

    def history(self, request_id: str) -> list[Classification]:
        """The request's classifications, oldest first."""
        return self.store.classifications(request_id=request_id)

    def successes(self, campaign_id: str) -> tuple[int, int]:
        """``(requests classified a success, requests classified)`` in a campaign, by each
        request's latest classification."""
        latest: dict[str, Classification] = {}
        for c in self.store.classifications(campaign_id=campaign_id):
            latest[c.request_id] = c
        return sum(c.success for c in latest.values()), len(latest)

    def _act(
        self,
        classifier: Classifier,
        request: Request,
        first: datetime | None,
        note: str | None,
    ) -> None:
        now = as_utc(self.clock.now())
        campaign = self.store.get_campaign(request.campaign_id)
        recall = classifier.recalls_at(now, first)
        if recall is not None:
            self.campaigns.send_again(
                self.actor,
                campaign.id,
                [request.id],
                from_statuses={*_SENT_OR_ENDED, RequestStatus.PENDING},
                at=recall,
            )
        elif classifier.recall_after is not None:
            log.info("request %s: recall time is up; not sent again", request.id)
        if classifier.closes or classifier.move_to or classifier.blocklist:
            self.store.set_request_status(
                campaign.id,
                ids=[request.id],
                from_statuses={RequestStatus.PENDING},
                to_status=RequestStatus.CANCELLED,
                error=f"classified {classifier.name!r}",
            )
        if classifier.blocklist:
            self.store.add_suppression(
                Suppression(
                    channel=request.channel,
                    address=request.address,
                    reason=SuppressionReason.BLOCKLISTED,
                    at=now,
                    note=f"classified {classifier.name!r}" + (f": {note}" if note else ""),
                )
            )
        targets = [*([classifier.move_to] if classifier.move_to else []), *classifier.send]
        for target in targets:
            recipient = attrs.evolve(
                request.recipient,
                transaction_id=request.recipient.transaction_id or f"request-{request.id}",
            )
            self.campaigns.request(self.actor, target, recipient)

    def _open_task(self, classifier: Classifier, request: Request, note: str | None) -> None:
        assert classifier.task is not None
        assert self.tasks is not None
        who = request.recipient.name or request.address
        title = classifier.task.title.format(classifier=classifier.name, customer=who)
        task = self.tasks.open(
            title[:500],
            assignee=classifier.task.assignee,
            within=classifier.task.within,
            note=note,
        )
        self.store.save_task(attrs.evolve(task, request_id=request.id))
