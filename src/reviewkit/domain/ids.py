"""Identifiers of stored things (requests, answers, campaigns, alerts, tasks…).

An identifier is a UUID version 7 (RFC 9562) written as 32 hexadecimal digits: the
millisecond it was made, then 74 random bits. Ids made later sort after ids made earlier, so
new rows are added at the end of an index on their id instead of at random places in it (with
random ids, each batch of an import touched a different page of that index per row, and the
cost per row grew with the table). They name things; they are not secrets (links carry
signed tokens, not bare ids), so the random bits come from a fast generator seeded from the
operating system's randomness once per process — and again in every forked child, so that
processes never share a sequence — instead of a system call each (which costs as much as
checking an imported row).
"""

from __future__ import annotations

import os
import random
import time

__all__ = ["new_id"]

_source = random.Random(os.urandom(32))


def _reseed() -> None:
    _source.seed(os.urandom(32))


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_reseed)


_VERSION = 0x7 << 76  # the UUID's version (7) and variant (0b10) bits
_VARIANT = 0b10 << 62
_LOW = (1 << 62) - 1


def new_id() -> str:
    """Return a new identifier: 32 hexadecimal digits of a UUID version 7 (the current
    millisecond, then random bits)."""
    bits = _source.getrandbits(74)
    millis = time.time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF
    value = millis << 80 | _VERSION | (bits >> 62) << 64 | _VARIANT | (bits & _LOW)
    return f"{value:032x}"
