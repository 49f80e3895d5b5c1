"""``python -m reviewkit``: the command line."""

from reviewkit.cli import main

raise SystemExit(main())
