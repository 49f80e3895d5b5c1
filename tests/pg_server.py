"""A throwaway PostgreSQL server for the tests: initdb and postgres from the system packages,
in a temporary folder, on a free port of 127.0.0.1, stopped at the end of the run.

The server refuses to run as root, so under root it runs as the ``postgres`` system user
(which the Debian packages create). Durability is switched off: the data is thrown away.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

MISSING = (
    "needs PostgreSQL's server programs (apt-get install postgresql) and psycopg "
    "(pip install 'reviewkit[postgres]')"
)


def _bindir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").is_file():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """One running server; :meth:`url` of a database on it, :meth:`create_database` anew."""

    def __init__(self, bindir: Path, folder: Path) -> None:
        self.bindir = bindir
        self.folder = folder
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "postgres"
            pwd.getpwnam(self._user)  # KeyError when there is no such user

    def _as_server_user(self, argv: list[str]) -> list[str]:
        return argv if self._user is None else ["runuser", "-u", self._user, "--", *argv]

    def start(self) -> None:
        data = self.folder / "data"
        data.mkdir()
        self.folder.chmod(0o755)
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(data, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            self._as_server_user(
                [str(self.bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                 "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync"]
            ),
            check=True,
            capture_output=True,
        )  # fmt: skip
        self._launch("wb")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"PostgreSQL did not start: {self.log()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                if self._ready():
                    return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start in 30 s: {self.log()}")

    def _launch(self, mode: str) -> None:
        data = self.folder / "data"
        with open(self.folder / "server.log", mode) as log:
            self.process = subprocess.Popen(
                self._as_server_user(
                    [str(self.bindir / "postgres"), "-D", str(data), "-p", str(self.port),
                     "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={data}",
                     "-c", "fsync=off", "-c", "synchronous_commit=off",
                     "-c", "full_page_writes=off", "-c", "max_connections=200"]
                ),
                stdout=subprocess.DEVNULL,
                stderr=log,
            )  # fmt: skip

    def _ready(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.url("postgres"), connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def log(self) -> str:
        return (self.folder / "server.log").read_text(errors="replace")[-2000:]

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(
                f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
            )
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown: clients are cut off, the server ends cleanly."""
        if self.process is None or self.process.poll() is not None:
            return
        pid_file = self.folder / "data" / "postmaster.pid"
        try:
            postmaster = int(pid_file.read_text().split()[0])
            os.kill(postmaster, signal.SIGINT)  # the server's own pid, not runuser's
        except (OSError, ValueError, IndexError):
            self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        deadline = time.monotonic() + 30
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self) -> None:
        """Stop the server (clients are cut off) and start it again on the same port."""
        self.stop()
        self._launch("ab")
        deadline = time.monotonic() + 30
        while not self._ready():
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not restart: {self.log()}")
            time.sleep(0.1)


def unavailable(message: str) -> None:
    """Skip with *message*, or fail in CI, which installs the server."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextlib.contextmanager
def running() -> Iterator[Server | str]:
    """A started server, or the reason there is none."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        yield MISSING
        return
    bindir = _bindir()
    if bindir is None:
        yield MISSING
        return
    folder = Path(tempfile.mkdtemp(prefix="reviewkit-pg-"))
    server = Server(bindir, folder)
    try:
        server.start()
    except (RuntimeError, KeyError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
        yield f"PostgreSQL could not be started here: {exc} {detail.decode(errors='replace')}"
        return
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
