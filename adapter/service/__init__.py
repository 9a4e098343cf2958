"""The task lifecycle: validation, idempotency, routing, pricing. No httpx, no redis here."""
