"""ShareStack's benchmark and failure drills (``make bench``, ``make drills``); see README.md."""
