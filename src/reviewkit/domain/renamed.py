"""Names renamed in this release, kept as deprecated aliases until the next one.

A request (what a campaign sends to one recipient) used to be called a *delivery* in the
API. The old names still work and warn with a :class:`DeprecationWarning` that names the new
one.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["RENAMED", "DeprecatedStoreNames", "renamed_attribute", "warn_renamed"]

RENAMED = {
    "Delivery": "Request",
    "DeliveryStatus": "RequestStatus",
    "DeliveryStateError": "RequestStateError",
    "DELIVERY_TRANSITIONS": "REQUEST_TRANSITIONS",
}
"""Module-level names: the old name to the new one (in the same module)."""


def warn_renamed(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that *old* is deprecated in favour of *new*."""
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release; use {new}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def renamed_attribute(old: str, new: str) -> Any:
    """Return a read-only property *old* that warns and returns the attribute *new*."""

    def read(self: object) -> Any:
        warn_renamed(f"{type(self).__name__}.{old}", f"{type(self).__name__}.{new}")
        return getattr(self, new)

    return property(read, doc=f"Deprecated: use :attr:`{new}`.")


def _forwarder(old: str, new: str) -> Any:
    def forward(self: object, *args: Any, **kwargs: Any) -> Any:
        warn_renamed(f"{type(self).__name__}.{old}()", f"{type(self).__name__}.{new}()")
        return getattr(self, new)(*args, **kwargs)

    forward.__name__ = old
    forward.__doc__ = f"Deprecated: use :meth:`{new}`."
    return forward


class DeprecatedStoreNames:
    """The store methods' former names (``add_deliveries``, ``claim_deliveries``, …), each
    forwarding to its new name with a :class:`DeprecationWarning`. reviewkit's own stores
    inherit it; a store of your own need not."""

    __slots__ = ()

    add_deliveries = _forwarder("add_deliveries", "add_requests")
    get_delivery = _forwarder("get_delivery", "get_request")
    iter_deliveries = _forwarder("iter_deliveries", "iter_requests")
    count_deliveries = _forwarder("count_deliveries", "count_requests")
    set_delivery_status = _forwarder("set_delivery_status", "set_request_status")
    query_deliveries = _forwarder("query_deliveries", "query_requests")
    claim_deliveries = _forwarder("claim_deliveries", "claim_requests")
    finish_deliveries = _forwarder("finish_deliveries", "finish_requests")
