"""Progress lines on stderr for long operations, at most one every ``interval`` seconds."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, what: str, total_bytes: int | None = None, interval: float = 2.0) -> None:
        self.what, self.total, self.interval = what, total_bytes, interval
        self.start = self.last = time.monotonic()

    def update(self, done_bytes: int, detail: str = "", force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.interval:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-6)
        rate = done_bytes / elapsed / 1e6
        share = f" ({100 * done_bytes / self.total:.0f} %)" if self.total else ""
        extra = f", {detail}" if detail else ""
        print(
            f"{self.what}: {done_bytes / 1e6:.1f} MB{share} in {elapsed:.1f} s, "
            f"{rate:.1f} MB/s{extra}",
            file=sys.stderr,
            flush=True,
        )

    def elapsed(self) -> float:
        return time.monotonic() - self.start
