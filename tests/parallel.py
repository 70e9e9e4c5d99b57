"""Attempts that reach a slow check at the same moment, for throttle tests (no sleeps, no database).

`held_in_parallel(n, attempt, hold)` starts `n` threads together (a barrier). `hold` is installed by the
test in place of the slow check (a password hash): each thread that reaches it waits there until every
thread has either reached it or been refused without it. Only then are they let go. So a throttle that
checks its count before the slow part and counts after it lets all `n` through, and one that counts
first lets at most its limit through — whatever the machine's speed.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
TIMEOUT_S = 30


class Hold:
    def __init__(self, n: int) -> None:
        self.n = n
        self.checked = 0
        self._settled = 0
        self._open = False
        self._cond = threading.Condition()
        self._local = threading.local()

    def __call__(self) -> None:
        """Called from the stand-in for the slow check."""
        self._local.held = True
        with self._cond:
            self.checked += 1
            self._settled += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._open, timeout=TIMEOUT_S)

    def _finished(self) -> None:
        if getattr(self._local, "held", False):
            return
        with self._cond:
            self._settled += 1
            self._cond.notify_all()

    def _release_when_settled(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._settled >= self.n, timeout=TIMEOUT_S)
            self._open = True
            self._cond.notify_all()


def held_in_parallel(n: int, attempt: Callable[[int], T], hold: Hold) -> list[T]:
    start = threading.Barrier(n)
    results: list[T] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        start.wait(TIMEOUT_S)
        try:
            result = attempt(i)
        finally:
            hold._finished()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    hold._release_when_settled()
    for t in threads:
        t.join(TIMEOUT_S)
    assert len(results) == n, "an attempt did not finish"
    return results
