"""An SMTP server that accepts every message and writes one line per recipient to a file:
``python -m benchmarks.sink PORT FILE [--pipelining]`` (``--pipelining`` offers RFC 2920
PIPELINING, as Postfix, Exim and the big providers do). A benchmark counts the lines to tell
how many messages arrived, and repeated addresses to tell duplicates, whoever sent them.
"""

from __future__ import annotations

import asyncio
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _Recorder:
    def __init__(self, path: Path, pipelining: bool) -> None:
        self.file = path.open("a", encoding="utf-8", buffering=1)
        self.pipelining = pipelining

    async def handle_EHLO(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        for address in envelope.rcpt_tos:
            self.file.write(address + "\n")
        return "250 OK"


def main() -> None:
    port, path = int(sys.argv[1]), Path(sys.argv[2])
    recorder = _Recorder(path, pipelining="--pipelining" in sys.argv[3:])
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


class Sink:
    """The sink as a separate process (so it does not share the benchmark's interpreter)."""

    def __init__(self, folder: Path, *, pipelining: bool = False) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.path = folder / f"received-{self.port}.txt"
        self.path.touch()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.sink", str(self.port), str(self.path)]
            + (["--pipelining"] if pipelining else []),
            cwd=Path(__file__).resolve().parent.parent,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                smtplib.SMTP("127.0.0.1", self.port, timeout=2).quit()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.process.kill()
                    raise RuntimeError("the benchmark SMTP sink did not start") from None
                time.sleep(0.1)

    def received(self) -> list[str]:
        return self.path.read_text(encoding="utf-8").split()

    def clear(self) -> None:
        self.path.write_text("")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


if __name__ == "__main__":
    main()
