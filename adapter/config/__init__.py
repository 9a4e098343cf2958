"""Settings, read once from the environment (``settings``), and the providers they configure
(``providers``: the providers file or the simple variables)."""
