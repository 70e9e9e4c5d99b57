"""Bursts in the product: near-identical frames uploaded one by one become one burst (the session step over
the stored details, no re-analysis), the alternates carry a note naming the best frame by its file name,
nothing is rejected for it, and the burst check's slider is the grouping sensitivity."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from classifier import services as classifier_services
from review import selectors
from tests.factories import make_photo, make_session, make_user

pytestmark = pytest.mark.django_db


def _frame(seed: int, shift: int = 0) -> bytes:
    """A sharp scene of blocks; the same seed with a small shift is the same scene a moment later."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (640, 480), (128, 128, 128))
    draw = ImageDraw.Draw(im)
    for _ in range(60):
        x, y, w, h = rng.integers(0, 600), rng.integers(0, 440), rng.integers(10, 120), rng.integers(10, 120)
        draw.rectangle((x + shift, y, x + shift + w, y + h), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=92)
    return buf.getvalue()


@pytest.fixture
def session():
    session = make_session(make_user("alice@example.com"), title="Headshots")
    for name, data in (("IMG_0001.JPG", _frame(1)), ("IMG_0002.JPG", _frame(1, 1)), ("IMG_0003.JPG", _frame(1, 2)),
                       ("IMG_0004.JPG", _frame(2))):
        photo = make_photo(session, name=name, data=data)
        classifier_services.photo_process(photo_id=photo.id)
    return session


def _bursts(session):
    cards = selectors.session_groups(session=session).all_cards()
    return {c.photo.original_filename: c.outcome.flag("burst") for c in cards}


def test_near_identical_frames_are_one_burst_with_its_best_named(session):
    flags = _bursts(session)
    alternates = {name for name, f in flags.items() if f.state == "yes"}
    assert len(alternates) == 2 and "IMG_0004.JPG" not in alternates, {n: f.sentence for n, f in flags.items()}  # three frames, one best, one other scene
    best = ({"IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"} - alternates).pop()
    assert all(f"burst of 3: frame ranked" in flags[n].sentence and f"best is {best}" in flags[n].sentence
               for n in alternates)
    assert flags["IMG_0004.JPG"].state == "no"  # a single frame
    groups = selectors.session_groups(session=session)
    assert groups.blinking == []  # a note: nothing rejected for being an alternate
    assert selectors.session_summary(session=session).counts == groups.counts


def test_the_bursts_slider_is_the_sensitivity(session):
    session.check_strictness = {"burst": 1.0}  # split as readily as it can
    session.save()
    strict = {n for n, f in _bursts(session).items() if f.state == "yes"}
    session.check_strictness = {"burst": 0.0}
    session.save()
    lenient = {n for n, f in _bursts(session).items() if f.state == "yes"}
    assert len(strict) <= len(lenient)


def test_the_csv_names_each_frames_burst_and_rank(session, tmp_path):
    import csv

    from review.exports import export_write

    path, _ = export_write(session=session, fmt="csv", out=tmp_path / "r.csv")
    header, *rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    by_name = {r[0]: dict(zip(header, r)) for r in rows}
    ranks = sorted(by_name[n]["burst_rank"] for n in ("IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"))
    assert ranks == ["1", "2", "3"]
    best = next(n for n, r in by_name.items() if r["burst_rank"] == "1")
    assert {by_name[n]["burst"] for n in ("IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG")} == {best}
    assert (by_name["IMG_0004.JPG"]["burst"], by_name["IMG_0004.JPG"]["burst_rank"]) == ("", "")


class _TwoPeople:
    """A stand-in for the subjects step: photos 1 and 3 are Subject 1, photo 2 Subject 2."""

    key = "test-two-people"

    def run(self, photos, contexts):
        ordered = sorted(photos)
        return {pid: {"burst": {"subjects": [1 if i % 2 == 0 else 2]}} for i, pid in enumerate(ordered)}


def test_the_review_offers_each_subject_with_their_photo_count(session, client):
    from tests.checks import registered_step

    client.force_login(session.owner)
    with registered_step(_TwoPeople()):
        groups = selectors.session_groups(session=session)
        assert groups.subjects == [(1, 2), (2, 2)]
        html = client.get(f"/sessions/{session.uuid}/review/").content.decode()
    assert '<option value="1">Subject 1 (2 photos)</option>' in html and 'data-subject="2"' in html


def test_a_keepers_export_can_take_the_best_frame_of_each_burst(session, tmp_path):
    import zipfile

    from review.exports import export_write

    path, written = export_write(session=session, fmt="keepers-zip", out=tmp_path / "best.zip",
                                 options={"best_of_bursts": "on"})
    best = next(c.photo.original_filename for c in selectors.session_cards(session=session) if c.is_burst_best)
    assert sorted(zipfile.ZipFile(path).namelist()) == sorted([best, "IMG_0004.JPG"]) and written == 2
    _, everything = export_write(session=session, fmt="keepers-zip", out=tmp_path / "all.zip")
    assert everything == 4  # by default every keeper, alternates included: keeping them is your call


def test_xmp_keywords_stack_a_burst_and_mark_its_best(session, tmp_path):
    from review.exports import export_write

    folder, _ = export_write(session=session, fmt="xmp", out=tmp_path / "xmp")
    cards = {c.photo.original_filename: c for c in selectors.session_cards(session=session)}
    best = next(n for n, c in cards.items() if c.is_burst_best)
    for name in ("IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"):
        sidecar = (folder / name.replace(".JPG", ".xmp")).read_text()
        assert f"Eye Spy|burst|{best}" in sidecar
        assert ("Eye Spy|best of burst" in sidecar) == (name == best)
    assert "burst" not in (folder / "IMG_0004.xmp").read_text()  # a single frame: no stack keyword
