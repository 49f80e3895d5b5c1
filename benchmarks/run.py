"""Run every benchmark and print one table: ``python benchmarks/run.py [--smoke | --full]``.

Figures are medians of several runs; each benchmark runs its baseline in the same process
and reports the ratio (how many times faster than the baseline reviewkit is; above 1 is
faster). ``--smoke`` uses tiny sizes to check the benchmarks still work; the default is a
medium size; ``--full`` the sizes the goals are stated for.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import (
    bench_alerts,
    bench_dashboard,
    bench_import,
    bench_reports,
    bench_scheduler,
    bench_scores,
    bench_smtp,
    bench_startup,
    bench_store,
    bench_workers,
)
from benchmarks.common import print_table

SIZES = {
    "smoke": {
        "scheduler": (20_000, 3),
        "store": (5_000, 1),
        "smtp": (300, 1),
        "import": (5_000, 1),
        "scores": (20_000, 3),
        "alerts": (20_000, 100),
        "workers": (1_000, (1, 4)),
        "startup": 5,
        "reports": (20_000, 50),
        "dashboard": (20_000, 3),
    },
    "medium": {
        "scheduler": (1_000_000, 5),
        "store": (100_000, 1),
        "smtp": (2_000, 1),
        "import": (100_000, 3),
        "scores": (100_000, 3),
        "alerts": (200_000, 1_000),
        "workers": (20_000, (1, 2, 4, 8)),
        "startup": 15,
        "reports": (200_000, 500),
        "dashboard": (200_000, 9),
    },
    "full": {
        "scheduler": (1_000_000, 7),
        "store": (1_000_000, 1),
        "smtp": (10_000, 1),
        "import": (1_000_000, 3),
        "scores": (1_000_000, 5),
        "alerts": (1_000_000, 1_000),
        "workers": (100_000, (1, 2, 4, 8)),
        "startup": 31,
        "reports": (1_000_000, 500),
        "dashboard": (1_000_000, 15),
    },
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--smoke", action="store_const", const="smoke", dest="size")
    size.add_argument("--full", action="store_const", const="full", dest="size")
    parser.add_argument(
        "--only",
        choices=[
            "scheduler",
            "store",
            "smtp",
            "import",
            "scores",
            "alerts",
            "workers",
            "startup",
            "reports",
            "dashboard",
        ],
        help="run one benchmark",
    )
    args = parser.parse_args()
    sizes = SIZES[args.size or "medium"]
    rows = []
    if args.only in (None, "scheduler"):
        rows += bench_scheduler.run(*sizes["scheduler"])
    if args.only in (None, "store"):
        rows += bench_store.run(*sizes["store"])
    if args.only in (None, "smtp"):
        rows += bench_smtp.run(*sizes["smtp"])
    if args.only in (None, "import"):
        rows += bench_import.run(*sizes["import"])
    if args.only in (None, "scores"):
        rows += bench_scores.run(*sizes["scores"])
    if args.only in (None, "alerts"):
        rows += bench_alerts.run(*sizes["alerts"])
    if args.only in (None, "startup"):
        rows += bench_startup.run(sizes["startup"])
    if args.only in (None, "reports"):
        rows += bench_reports.run(*sizes["reports"])
    if args.only in (None, "dashboard"):
        rows += bench_dashboard.run(*sizes["dashboard"])
    if args.only in (None, "workers"):
        rows += bench_workers.run(*sizes["workers"])
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
