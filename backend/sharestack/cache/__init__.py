"""Redis clients per role, cache-aside, key patterns and TTLs. Knows no domain."""
