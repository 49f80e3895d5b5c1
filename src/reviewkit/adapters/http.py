"""Posting JSON to an HTTP API and sorting its answer into reviewkit's send errors."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from reviewkit.errors import AccountError, PermanentSendError, TransientSendError, ValidationError

__all__ = ["JSONEndpoint", "post_json"]


def post_json(
    url: str, payload: Any, headers: Mapping[str, str], *, timeout: float, what: str
) -> bytes:
    """POST *payload* as JSON to *url* and return the response body.

    2xx is success; 401 and 403 raise :class:`AccountError`; 408, 429, 5xx and network
    failures :class:`TransientSendError`; any other 4xx :class:`PermanentSendError`.
    *what* names the message in errors ("SMS gateway answered 400 for +48…").
    """
    request = urllib.request.Request(  # noqa: S310 - callers check the URL scheme
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as exc:
        with exc:  # an HTTPError holds the response open until closed
            detail = exc.read()[:300].decode("utf-8", "replace")
        text = f"{what}: {exc.code} {detail}"
        if exc.code in (401, 403):
            raise AccountError(text) from exc
        if exc.code in (408, 429) or exc.code >= 500:
            raise TransientSendError(text) from exc
        raise PermanentSendError(text) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise TransientSendError(f"{url} unreachable: {exc}") from exc


class JSONEndpoint:
    """An http(s) URL that JSON is POSTed to, with its headers and timeout.

    :param what: names the endpoint in errors ("webhook", "task tracker").
    :raises ValidationError: *url* is not http(s).
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        what: str = "endpoint",
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValidationError(f"{what} URL {url!r} must be http or https")
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout

    def post(self, payload: Any, *, what: str) -> bytes:
        """POST *payload*; see :func:`post_json` for the errors."""
        return post_json(self.url, payload, self.headers, timeout=self.timeout, what=what)
