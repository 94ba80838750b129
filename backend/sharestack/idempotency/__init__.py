"""``Idempotency-Key`` for money-moving requests: one shared table and one rule (``service``)."""
