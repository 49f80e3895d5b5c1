"""Deprecated: this module is now :mod:`reviewkit.domain.request`.

Importing it warns; its names resolve to the new module's (``Delivery`` to ``Request``,
``DeliveryStatus`` to ``RequestStatus``, ``DELIVERY_TRANSITIONS`` to ``REQUEST_TRANSITIONS``).
"""

from __future__ import annotations

from reviewkit.domain import request as _request
from reviewkit.domain.renamed import RENAMED, warn_renamed

warn_renamed("reviewkit.domain.delivery", "reviewkit.domain.request", stacklevel=2)


def __getattr__(name: str) -> object:
    """Resolve a name of the former module in :mod:`reviewkit.domain.request`."""
    return getattr(_request, RENAMED.get(name, name))
