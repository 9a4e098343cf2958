"""The entry points: ``mindvideo-adapter``'s commands (``main``), serving the API in one process
or several (``serve``, ``supervisor``), the reconciler alone (``worker``), API keys (``keys``),
the providers check (``providers``), and where log lines go (``logs``). They build what they
run with ``adapter.bootstrap``."""
