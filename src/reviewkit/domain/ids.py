"""Identifiers of stored things (requests, answers, campaigns, alerts, tasks…).

An identifier is 128 random bits written as 32 hexadecimal digits, the shape of a UUID4's
hex. They name things; they are not secrets (links carry signed tokens, not bare ids), so
they come from a fast generator seeded from the operating system's randomness once per
process — and again in every forked child, so that processes never share a sequence —
instead of a system call each (which costs as much as checking an imported row).
"""

from __future__ import annotations

import os
import random

__all__ = ["new_id"]

_source = random.Random(os.urandom(32))


def _reseed() -> None:
    _source.seed(os.urandom(32))


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_reseed)


def new_id() -> str:
    """Return a new identifier: 32 hexadecimal digits of random bits."""
    return f"{_source.getrandbits(128):032x}"
