"""Identifiers: 32 hex digits, never repeated, also across forked processes."""

from __future__ import annotations

import multiprocessing
import re

import pytest

from reviewkit.domain.ids import new_id


def _ids(count: int) -> list[str]:
    return [new_id() for _ in range(count)]


def test_ids_are_32_hex_digits_and_unique() -> None:
    """100,000 ids in one process: each 32 lowercase hex digits, none twice."""
    made = _ids(100_000)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in made)
    assert len(set(made)) == len(made)


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
