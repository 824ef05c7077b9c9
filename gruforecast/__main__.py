"""``python -m gruforecast``: the same as the ``gruforecast`` command."""

from .cli import main

raise SystemExit(main())
