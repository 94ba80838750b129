"""Operational tooling run beside the API (backups, restores); no request-path code."""
