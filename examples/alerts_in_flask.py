"""Alerts and tasks wired into a Flask shop.

The shop mounts reviewkit's answer page under ``/feedback`` and registers the alert service
as an answer hook, so a detractor's answer raises an alert at once. The alert reaches the
customer-care team's inbox (a Maildir here, SMTP in production) and opens a task for the
agent on duty, due within 2 working hours on the Warsaw office calendar; the shop's own
``/alerts`` page lists what fires. When the agent marks the task done, the customer gets a
"did we solve it?" survey through the normal request path.

Run it: ``python examples/alerts_in_flask.py`` (needs ``pip install flask``)
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
import tempfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

import reviewkit as rk
from reviewkit.adapters.notifier import TransportNotifier
from reviewkit.web import make_app

SHOP = "https://shop.example"
WARSAW = rk.load_zone("Europe/Warsaw")
BODY = "{% for o in survey.options %}{{ o.score }}: {{ o.url }}\n{% endfor %}"
OFFICE = rk.SendWindow(weekdays="mon-fri", hours="09:00-17:00", holidays=rk.HolidayCalendar("PL"))


class CareDesk:
    """The shop's glue: every alert that fires opens a task, then the e-mail goes out."""

    def __init__(self, tasks: rk.TaskService, mail: TransportNotifier) -> None:
        self.tasks = tasks
        self.mail = mail

    def notify(self, receiver: str, notifications: Sequence[rk.Notification]) -> None:
        for n in notifications:
            if n.transition.value == "fired" and n.alert.evidence.answer_id:
                self.tasks.open_for_alert(n.alert, assignee="agent", within=timedelta(hours=2))
        self.mail.notify(receiver, notifications)


def build(answers: rk.AnswerService, alerts: rk.AlertService) -> Flask:
    shop = Flask("shop")

    @shop.get("/alerts")
    def firing() -> str:
        rows = [
            f"<li>{a.rule_name}: {a.evidence.summary}</li>"
            for a in alerts.alerts([rk.AlertState.FIRING])
        ]
        return "<ul>" + "".join(rows) + "</ul>"

    shop.wsgi_app = DispatcherMiddleware(shop.wsgi_app, {"/feedback": make_app(answers)})  # type: ignore[method-assign]
    return shop


def main() -> None:
    clock = rk.ManualClock(datetime(2026, 12, 4, 15, 30, tzinfo=WARSAW))  # Friday afternoon
    store, outbox = rk.InMemoryStore(), rk.InMemoryTransport()
    signer = rk.LinkSigner({"k2026": "keep-this-secret-in-the-environment"})
    me = rk.Actor.system()
    campaigns = rk.CampaignService(store, clock)
    survey = rk.Survey(type="nps", privacy_url=SHOP + "/privacy")
    for name in ("after delivery", "did we solve it"):
        campaigns.create(
            me,
            name=name,
            sender="Shop <reviews@shop.example>",
            subject="Would you recommend us?",
            body="{% for o in survey.options %}{{ o.score }}: {{ o.url }}\n{% endfor %}",
            start_at=clock.now(),
            answer_url=SHOP + "/feedback/a/{token}",
            survey=survey,
        )
    campaigns.add_recipients(
        me,
        "after delivery",
        [rk.Recipient(email="ala@example.com", name="Ala", transaction_id="Z-17")],
    )
    campaigns.schedule(me, "after delivery")
    rk.Dispatcher(store, outbox, clock, links=signer).run()

    inbox = Path(tempfile.mkdtemp()) / "care-inbox"
    tasks = rk.TaskService(
        store,
        clock,
        assignees=[rk.Assignee(name="agent", timezone="Europe/Warsaw", window=OFFICE)],
        on_done=rk.FollowUpSurvey(campaigns, "did we solve it", me),
    )
    alerts = rk.AlertService(store, clock, routes=[rk.Route(receiver="care")])
    alerts.add_rule(rk.AnswerRule(name="detractor", survey="nps", labels={"team": "care"}))
    answers = rk.AnswerService(store, clock, signer)
    answers.on_answer(alerts.on_answer)

    # Ala clicks "2" in her e-mail and says why.
    (message,) = outbox.sent
    two = re.search(r"^2: (\S+)$", message.text, re.M)
    assert two is not None
    client = build(answers, alerts).test_client()
    path = two.group(1).removeprefix(SHOP)
    client.post(path, data={"score": "2", "comment": "The parcel came broken"})
    assert "detractor" in client.get("/alerts").text

    care = CareDesk(
        tasks,
        TransportNotifier(
            rk.MaildirTransport(inbox),
            addresses={"care": "care@shop.example"},
            sender="Alerts <alerts@shop.example>",
        ),
    )
    assert alerts.deliver(care) == 1
    (raw,) = [bytes(m) for m in mailbox.Maildir(inbox, create=False)]
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    print("care inbox:", mail["Subject"])

    (task,) = tasks.tasks()
    print("task:", task.title, "| due", task.deadline.astimezone(WARSAW) if task.deadline else "-")
    # 15:30-17:00 on Friday, then 30 minutes on Monday morning.
    assert task.deadline == datetime(2026, 12, 7, 9, 30, tzinfo=WARSAW)
    tasks.done(task.id, by="agent", note="Replacement sent")
    (follow_up,) = campaigns.requests(me, "did we solve it")
    print("follow-up survey queued for", follow_up.address)


if __name__ == "__main__":
    main()
