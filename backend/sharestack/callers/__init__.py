"""Who is calling: login sessions (tokens in Redis), the caller dependencies and the per-caller
rate limits. Below every domain: ``auth`` creates login sessions, the other domains ask who the
caller is; it imports no domain."""
