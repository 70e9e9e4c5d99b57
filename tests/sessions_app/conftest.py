"""The cast for platform tests: alice (logged in as `web`), bob (another photographer), and a
recorder standing in for the Celery queue so no test talks to a broker."""
from __future__ import annotations

import io

import pytest
from django.test import Client as WebClient

from tests.factories import make_session, make_user


@pytest.fixture(autouse=True)
def enqueued(monkeypatch) -> list[int]:
    """Photo ids handed to classifier.services.photos_enqueue (after commit), instead of a broker."""
    from classifier import services as classifier_services

    sent: list[int] = []

    def fake_enqueue(*, photo_ids):
        from django.db import transaction

        ids = [int(i) for i in photo_ids]
        transaction.on_commit(lambda: sent.extend(ids))

    monkeypatch.setattr(classifier_services, "photos_enqueue", fake_enqueue)
    # The intake (uploads, imports, "re-run failed") and photos_requeue call it from its own module.
    monkeypatch.setattr("classifier.services.processing.photos_enqueue", fake_enqueue)
    return sent


@pytest.fixture
def alice(db):
    return make_user("alice@example.com", name="Alice")


@pytest.fixture
def bob(db):
    return make_user("bob@example.com", name="Bob")


@pytest.fixture
def web(alice) -> WebClient:
    c = WebClient()
    c.force_login(alice)
    return c


@pytest.fixture
def bob_web(bob) -> WebClient:
    c = WebClient()
    c.force_login(bob)
    return c


@pytest.fixture
def alice_session(alice):
    return make_session(alice, title="Smith family")


# --- Files that must be rejected, made in the test ---------------------------------------------------


GARBAGE_BYTES = bytes(range(256)) * 16  # no known signature: a corrupt file


def png_bytes(size=(40, 30), color=(10, 200, 30)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


# --- Processed photos without running the model ------------------------------------------------------


def eye(side: str, p_closed: float, crop_path: str = "") -> dict:
    state = "closed" if p_closed >= 0.5 else "open"
    box = {"x0": 0.4, "y0": 0.3, "x1": 0.45, "y1": 0.33}
    return {"side": side, "state": state, "p_closed": p_closed, "openness": 1 - p_closed, "box": box,
            "lid_ratio": None, "crop_path": crop_path}


def face(*eyes: dict) -> dict:
    return {"box": {"x0": 0.3, "y0": 0.2, "x1": 0.6, "y1": 0.6}, "score": 0.95, "size_px": 400,
            "is_subject": True, "eyes": list(eyes)}


def mark_done(photo, *, p_closed: float | None, model_version, crops: dict[str, str] | None = None):
    """Give the photo a stored prediction like the worker would: one face (or none when p_closed is None)."""
    from classifier.models import Prediction

    crops = crops or {}
    faces = [] if p_closed is None else [face(eye("left", p_closed, crops.get("left", "")),
                                              eye("right", p_closed, crops.get("right", "")))]
    verdict = "NO_FACE" if p_closed is None else ("BLINKING" if p_closed >= 0.5 else "NOT_BLINKING")
    Prediction.objects.create(
        photo=photo, model_version=model_version, verdict=verdict, confidence=0.9, reason="test",
        details={"verdict": verdict, "faces": faces},
    )
    photo.status = "done"
    photo.save(update_fields=["status"])
    return photo
