"""ShareStack: backend platform for creator content subscriptions."""
