"""The composition root: every part of the adapter, built from settings, one way, for
``serve``, ``worker``, the CLIs and the tests alike.

``adapters`` makes the concrete adapters (Redis, the providers, media checks, webhooks);
``parts`` builds the service on them (``build``) and runs its background work (``running``);
``app`` puts the HTTP surface on the parts (``create_app``, also uvicorn's factory for
``serve --workers``). The only package that imports concrete adapters and the service both.
"""
