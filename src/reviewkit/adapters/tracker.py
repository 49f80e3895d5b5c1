"""A task tracker reached over HTTP: every new or changed task is POSTed as JSON."""

from __future__ import annotations

from collections.abc import Mapping

from reviewkit.adapters.http import JSONEndpoint
from reviewkit.domain.tasks import Task
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
        self.endpoint = JSONEndpoint(url, headers=headers, timeout=timeout, what="task tracker")

    def push(self, task: Task) -> None:
        """Send *task*; see the class docstring for the errors."""
        self.endpoint.post({"event": "task", **unstructure(task)}, what=f"task {task.id}")
