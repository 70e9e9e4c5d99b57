"""Each worker's main process re-sends, every few seconds, the photos whose task could not be sent.

Why here and not in beat: an upload made while the broker was down is committed but its message is
lost; it is marked `unsent` (classifier.services.photos_enqueue). The worker is the process that is
connected to the broker once it is back, so it notices first; beat's sweeper would wait for the stuck
time (minutes). Looking costs one query on a partial index that is empty almost always. Several
workers may send the same photo at once: the claim lets one run through.
"""
from __future__ import annotations

import logging
import threading

from django.db import connection

from classifier import services

logger = logging.getLogger(__name__)

EVERY_SECONDS = 2.0


def send_once() -> int:
    """One look: send what is unsent. Returns how many went out (raises when the broker is still down)."""
    try:
        return services.photos_send_unsent()
    finally:
        # Hold no database connection between looks: the main process forks new pool children, and an
        # SQLite connection open across a fork() can leave the child reading a stale snapshot.
        connection.close()


def start(stop: threading.Event, every: float = EVERY_SECONDS) -> threading.Thread:
    """Look every `every` seconds from a daemon thread until `stop` is set. An outage is logged once."""

    def run() -> None:
        failing = False
        while not stop.wait(every):
            try:
                send_once()
                failing = False
            except Exception as exc:  # broker or database down: try again next time
                if not failing:
                    logger.warning("can't re-send unsent photos yet: %s", exc)
                failing = True

    thread = threading.Thread(target=run, name="eyespy-unsent-sender", daemon=True)
    thread.start()
    return thread
