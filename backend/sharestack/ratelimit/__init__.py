"""Rate limiting: GCRA in Redis, per IP for anonymous callers and per user when authenticated."""
