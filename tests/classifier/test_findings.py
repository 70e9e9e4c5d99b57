"""classifier.findings: the photo task stores every registered check's details, and they are judged at the
session's per-check strictness; the eyes' details are the analysis itself, old predictions read as before."""
from __future__ import annotations

import pytest

from classifier import findings, services
from classifier.models import Prediction
from tests.checks import WideFrameCheck, registered
from tests.factories import jpeg_bytes, make_photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def wide_check():
    with registered(WideFrameCheck()) as check:
        yield check


def test_the_photo_task_stores_every_checks_details_once(session, wide_check):
    photo = make_photo(session, data=jpeg_bytes(size=(640, 400)))
    services.photo_process(photo_id=photo.id)
    details = Prediction.objects.get(photo=photo).details
    assert details["checks"]["wide"] == {"schema": 1, "aspect": 1.6, "pixels_seen": True}
    # Not the eyes again; a set: PostgreSQL's jsonb keeps no key order (readers go by the registry's order).
    assert set(details["checks"]) == {"focus", "motion", "framing", "burst", "wide"}
    stored = findings.stored_details(details)
    assert list(stored) == ["blink", "focus", "motion", "framing", "burst", "wide"] and stored["blink"]["faces"] == details["faces"] == []


def test_findings_follow_each_checks_own_slider(session, wide_check):
    details = {"schema": 3, "faces": [], "checks": {"wide": {"schema": 1, "aspect": 1.5}}}
    session.check_strictness = {"wide": 1.0}
    strictness = findings.session_strictness(session)
    assert strictness == {"blink": session.strictness, "focus": 0.5, "motion": 0.5, "framing": 0.5, "burst": 0.5,
                          "wide": 1.0}
    found = findings.photo_findings(details, strictness)
    assert found["wide"].flagged and not found["blink"].applies
    lenient = findings.photo_findings(details, findings.session_strictness(session, {"wide": 0.0}))
    assert not lenient["wide"].flagged


def test_predictions_stored_before_the_registry_read_as_the_eye_check_alone():
    old = {"verdict": "BLINKING", "faces": [{"eyes": [{"side": "left", "p_closed": 0.9, "state": "closed"}]}]}
    assert findings.stored_details(old) == {"blink": {"schema": 1, "faces": old["faces"]}}
    assert findings.stored_details(None) == {"blink": {"schema": 1, "faces": []}}
    assert findings.stored_details({"faces": "junk", "checks": {"x": 3}}) == {"blink": {"schema": 1, "faces": []}}
