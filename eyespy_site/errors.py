"""The application's two error bases, shared by every app.

* `AppError` — something a person can be told: `reason` is a readable sentence, shown as is (an upload
  refused, a correction that can't be made, a photo that can't be read, an export that can't be built).
* `TransientError` — something outside the request or job failed (storage, network) and trying again may
  work: background tasks retry it (`eyespy_site.task_base.RETRYABLE_ERRORS`).
"""
from __future__ import annotations


class AppError(Exception):
    """An error with a reason a photographer (or their client) can read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(Exception):
    """A passing failure outside the job itself; the job is retried."""
