"""The operator's dashboard (``/dashboard/``): server-rendered pages over the admin services."""
