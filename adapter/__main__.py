from __future__ import annotations

from adapter.cli.main import main

raise SystemExit(main())
