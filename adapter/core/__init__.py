"""What every layer shares: the domain values (``values``), the error tree (``errors``), the
task object as clients see it (``task_body``), the clock, and the reading of a failure's
causes. Nothing here does I/O or knows a framework."""
