from __future__ import annotations

from adapter.cli import main

raise SystemExit(main())
