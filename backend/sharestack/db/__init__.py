"""Engines, typed sessions, read routing and the transaction owner. Knows no domain."""
