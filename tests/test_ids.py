"""Identifiers: UUID version 7 in 32 hex digits, in the order they were made, never repeated,
also across forked processes."""

from __future__ import annotations

import multiprocessing
import re
import time
import uuid

import pytest

from reviewkit.domain.ids import new_id


def _ids(count: int) -> list[str]:
    return [new_id() for _ in range(count)]


def test_ids_are_32_hex_digits_and_unique() -> None:
    """100,000 ids in one process: each 32 lowercase hex digits, none twice."""
    made = _ids(100_000)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in made)
    assert len(set(made)) == len(made)


def test_ids_are_uuid7_with_the_millisecond_they_were_made() -> None:
    """An id parses as a UUID version 7 of the RFC variant whose first 48 bits are the
    Unix time in milliseconds when it was made."""
    before = time.time_ns() // 1_000_000
    made = new_id()
    after = time.time_ns() // 1_000_000
    parsed = uuid.UUID(made)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert before <= parsed.int >> 80 <= after


def test_ids_made_later_sort_after_earlier_ones() -> None:
    """Ids made in a later millisecond sort after every id made before it, so new rows go
    to the end of an index on their id."""
    first = _ids(1_000)
    time.sleep(0.002)
    later = _ids(1_000)
    assert max(first) < min(later)


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork (not on Windows)"
)
def test_forked_processes_never_share_a_sequence() -> None:
    """Children forked from one parent (as import checkers and workers are) draw
    different ids from each other and from the parent."""
    new_id()  # the parent has drawn before forking
    with multiprocessing.get_context("fork").Pool(3) as pool:
        batches = pool.map(_ids, [2_000] * 6)
    made = [i for batch in batches for i in batch] + _ids(2_000)
    assert len(set(made)) == len(made)
