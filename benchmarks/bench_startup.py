"""Start-up: how long a new process takes to ``import reviewkit`` and to print
``reviewkit --help``, against one that imports jinja2 and attrs (the libraries every
reviewkit process needs); the goal is within 2x of that baseline (a ratio of at least 0.5).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from benchmarks.common import Row


def _median_ms(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(repeat: int) -> list[Row]:
    python = sys.executable
    bare = _median_ms([python, "-c", "pass"], repeat)
    baseline = _median_ms([python, "-c", "import jinja2, attrs"], repeat)
    imported = _median_ms([python, "-c", "import reviewkit"], repeat)
    helped = _median_ms([python, "-m", "reviewkit", "--help"], repeat)
    note = f"baseline: import jinja2, attrs {baseline * 1000:.0f} ms; goal >= 0.50x"
    return [
        Row("start-up", "python -c pass", 1, bare),
        Row("start-up", "import reviewkit", 1, imported, baseline_seconds=baseline, note=note),
        Row("start-up", "reviewkit --help", 1, helped, baseline_seconds=baseline, note=note),
    ]
