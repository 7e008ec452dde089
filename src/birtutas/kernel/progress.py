"""Progress of a long command: one line on stderr with done/total, elapsed time and time left."""

import sys
import time


class Progress:
    """One line of progress on stderr: done/total, rate and time left."""

    def __init__(self, total: int, label: str, out=sys.stderr, enabled: bool = True):
        self.total, self.label, self.out, self.enabled = total, label, out, enabled
        self.done = 0
        self.started = time.monotonic()

    def step(self, n: int = 1, note: str = "") -> None:
        self.done += n
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed else 0
        left = (self.total - self.done) / rate if rate else 0
        self.out.write(
            f"\r{self.label}: {self.done}/{self.total} ({100 * self.done // max(self.total, 1)}%) "
            f"{elapsed:5.0f}s elapsed, ~{left:4.0f}s left {note[:40]:<40}"
        )
        if self.done >= self.total:
            self.out.write("\n")
        self.out.flush()
