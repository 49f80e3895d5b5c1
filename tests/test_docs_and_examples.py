"""Every Python block in the README and docs/, and every script in examples/, runs."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

import reviewkit as rk
from reviewkit.testing import DEFAULT_NOW

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)

FIXTURES = {
    "reviewkit_store": rk.InMemoryStore,
    "reviewkit_transport": rk.InMemoryTransport,
    "reviewkit_clock": lambda: rk.ManualClock(DEFAULT_NOW),
}


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_code_blocks_run(page: Path) -> None:
    """A page's Python blocks run in order in one namespace; test functions in them pass."""
    blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
    if page.name in (
        "README.md",
        "concepts.md",
        "scheduler.md",
        "storage.md",
        "testing.md",
        "sending.md",
    ):
        assert blocks, f"{page.name} should show runnable code"
    namespace: dict[str, object] = {"__name__": f"docs.{page.stem}"}
    for number, block in enumerate(blocks, start=1):
        code = compile(block, f"{page.name} block {number}", "exec")
        exec(code, namespace)  # noqa: S102 - running our own documentation is the point
    for name, obj in list(namespace.items()):
        if name.startswith("test_") and callable(obj):
            params = inspect.signature(obj).parameters
            obj(**{p: FIXTURES[p]() for p in params})


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Each example script exits 0 when run as a user runs it (the PostgreSQL one against
    the test server)."""
    env = dict(os.environ)
    if script.name.startswith("postgres"):
        env["REVIEWKIT_PG"] = request.getfixturevalue("postgres_url")
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "an example should show what it did"


def test_default_now_is_a_monday_morning() -> None:
    """The plugin's clock starts on a working Monday at 09:00 in Warsaw."""
    assert DEFAULT_NOW.weekday() == 0
    assert datetime(2026, 1, 5, 9, 0, tzinfo=rk.load_zone("Europe/Warsaw")) == DEFAULT_NOW


SHELL_BLOCK = re.compile(r"^```shell\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _commands() -> list[str]:
    """Every command of the command line, as typed: ``campaign create``, ``alerts rules add``."""
    import argparse

    from reviewkit.cli import _parser

    found: list[str] = []

    def walk(parser: argparse.ArgumentParser, prefix: list[str]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found.append(" ".join(prefix))
            return
        for name, sub in subs[0].choices.items():
            walk(sub, [*prefix, name])

    walk(_parser(full=True), [])
    return found


def test_the_command_line_page_shows_every_command_in_a_session_that_runs(
    tmp_path: Path,
) -> None:
    """docs/cli.md's `shell` blocks, run in order as one bash session, succeed; together they
    use every command the command line has."""
    from .smtp_server import smtp_server

    script = "\n".join(SHELL_BLOCK.findall((ROOT / "docs" / "cli.md").read_text("utf-8")))
    missing = [c for c in _commands() if not re.search(rf"reviewkit {c}(\s|$)", script)]
    assert not missing, f"docs/cli.md runs no example of: {', '.join(missing)}"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, command in (("reviewkit", "-m reviewkit"), ("python3", "")):
        wrapper = bin_dir / name
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" {command} "$@"\n')
        wrapper.chmod(0o755)
    with smtp_server() as (_, port):
        env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "REVIEWKIT_DB": "tour.sqlite3",
            "REVIEWKIT_LINK_KEYS": "k1:a-long-random-secret-0123456789",
            "SMTP_PORT": str(port),
        }
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "default: ok, test message sent to me@shop.example" in done.stdout
