"""classifier.findings: the photo task stores every registered check's details, and they are judged at the
session's per-check strictness; the eyes' details are the analysis itself, old predictions read as before."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from classifier import findings, services
from classifier.models import Prediction
from ml import detectors
from ml.detectors import Finding, Level, Subject, Words
from tests.factories import jpeg_bytes, make_photo

pytestmark = pytest.mark.django_db


@dataclass
class _WideCheck:
    """A test-only note: the photo is wider than it is tall (by more, the stricter the slider)."""

    key: str = "wide"
    title: str = "Wide frame"
    level: Level = Level.PHOTO
    rejects: bool = False
    schema: int = 1
    words: Words = Words(flagged="Wide", clear="Not wide", group="Wide frames", flag="Wide", not_flag="Not wide",
                         key="w", clear_key="shift+w", keyword="Eye Spy|wide", label="")

    def analyse(self, subject: Subject) -> dict:
        return {"schema": self.schema, "aspect": round(subject.analysis.width / subject.analysis.height, 3),
                "pixels_seen": subject.image is not None}

    def judge(self, details, strictness=0.5, context=None) -> Finding:
        limit = 1.6 - strictness * 0.4
        return Finding(key=self.key, applies=True, flagged=details["aspect"] > limit, score=details["aspect"],
                       sentence=f"aspect {details['aspect']:.2f}")


@pytest.fixture
def wide_check():
    check = detectors.register(_WideCheck())
    yield check
    detectors.unregister(check.key)


def test_the_photo_task_stores_every_checks_details_once(session, wide_check):
    photo = make_photo(session, data=jpeg_bytes(size=(640, 400)))
    services.photo_process(photo_id=photo.id)
    details = Prediction.objects.get(photo=photo).details
    assert details["checks"] == {"wide": {"schema": 1, "aspect": 1.6, "pixels_seen": True}}  # not the eyes again
    stored = findings.stored_details(details)
    assert list(stored) == ["blink", "wide"] and stored["blink"]["faces"] == details["faces"] == []


def test_findings_follow_each_checks_own_slider(session, wide_check):
    details = {"schema": 3, "faces": [], "checks": {"wide": {"schema": 1, "aspect": 1.5}}}
    session.check_strictness = {"wide": 1.0}
    strictness = findings.session_strictness(session)
    assert strictness == {"blink": session.strictness, "wide": 1.0}
    found = findings.photo_findings(details, strictness)
    assert found["wide"].flagged and not found["blink"].applies
    lenient = findings.photo_findings(details, findings.session_strictness(session, {"wide": 0.0}))
    assert not lenient["wide"].flagged


def test_predictions_stored_before_the_registry_read_as_the_eye_check_alone():
    old = {"verdict": "BLINKING", "faces": [{"eyes": [{"side": "left", "p_closed": 0.9, "state": "closed"}]}]}
    assert findings.stored_details(old) == {"blink": {"schema": 1, "faces": old["faces"]}}
    assert findings.stored_details(None) == {"blink": {"schema": 1, "faces": []}}
    assert findings.stored_details({"faces": "junk", "checks": {"x": 3}}) == {"blink": {"schema": 1, "faces": []}}
