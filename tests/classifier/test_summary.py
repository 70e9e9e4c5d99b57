"""session_summary / sessions_blinking_counts (no cards built) agree with the full review groups."""
from __future__ import annotations

import pytest

from classifier import selectors
from classifier.models import Correction
from sessions_app.models import Photo
from tests.factories import make_photo
from tests.review_builders import BLINK, BORDERLINE, NO_FACES, OPEN, face, make_judged_photo


@pytest.fixture
def mixed_session(db, session):
    """Blinking, open, borderline, group and face-less photos, corrections of all kinds, a failure, a queued one."""
    made = [
        make_judged_photo(session, faces=faces)
        for faces in (BLINK, OPEN, BORDERLINE, NO_FACES, OPEN + [face(0.9, 0.95, size_px=60)],
                      [face(0.05, 0.1), face(0.95, 0.9, size_px=380)], BORDERLINE, OPEN)
    ]
    Correction.objects.create(photo=made[0], label="NOT_BLINKING")  # kept a flagged one
    Correction.objects.create(photo=made[1], label="BLINKING")  # a missed blink
    fix = Correction.objects.create(photo=made[2], label="NOT_BLINKING")
    Correction.objects.create(photo=made[2], label="BLINKING", undoes=fix)  # taken back
    Correction.objects.create(photo=made[5], label="NOT_BLINKING", face_index=1)  # a face, newer than nothing
    make_photo(session, status=Photo.Status.FAILED, error="truncated")
    make_photo(session, status=Photo.Status.QUEUED)
    return session


@pytest.mark.parametrize("strictness", [0.0, 0.5, 0.8, 1.0])
def test_summary_matches_the_review_groups(mixed_session, strictness):
    mixed_session.strictness = strictness
    groups = selectors.session_groups(session=mixed_session)
    summary = selectors.session_summary(session=mixed_session)
    assert summary.counts == groups.counts
    assert summary.agreement == selectors.agreement_from_cards(groups.all_cards())
    assert selectors.sessions_blinking_counts(sessions=[mixed_session]) == {mixed_session.id: len(groups.blinking)}
    assert summary.counts["pending"] == 1 and summary.counts["unreadable"] == 1
