"""A task tracker reached over HTTP: every new or changed task is POSTed as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from reviewkit.adapters.http import post_json
from reviewkit.domain.tasks import Task
from reviewkit.errors import ValidationError
from reviewkit.serialization import unstructure

__all__ = ["HTTPTaskSink"]


class HTTPTaskSink:
    """POST each task to *url* as JSON (the task's fields, datetimes in ISO 8601, plus
    ``"event": "task"``).

    The tracker answers 2xx when it took the task; 408, 429, 5xx and network failures are
    retried by the task service; any other answer is final.

    :param headers: added to every request (an ``Authorization`` header, for example).
    :raises ValidationError: *url* is not http(s).
    """

    def __init__(
        self, url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 10.0
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValidationError(f"task tracker URL {url!r} must be http or https")
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout

    def push(self, task: Task) -> None:
        """Send *task*; see the class docstring for the errors."""
        payload = {"event": "task", **unstructure(task)}
        post_json(self.url, payload, self.headers, timeout=self.timeout, what=f"task {task.id}")
