"""Photos still in "Check these" never leave as keepers silently (issue 18.2): every keepers path (keepers
ZIP, embedded/XMP ratings, the Lightroom filter, a gallery's "start from keepers", export_session) keeps
them apart by default, says how many, and counts them as keepers or rejects only when asked."""
from __future__ import annotations

import io
import zipfile

import pytest
from django.core.management import call_command

from galleries.selectors import session_gallery_sources
from review import selectors
from review.exports import KEEPERS, ExportOptions, export_write, filename_filter, keepers
from review.exports.xmp import sidecar_values
from tests.factories import make_session, make_user
from tests.review_builders import BLINK, BORDERLINE, OPEN, make_judged_photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def session():
    session = make_session(make_user("alice@example.com"), title="Unresolved")
    make_judged_photo(session, faces=OPEN, name="IMG_0001.JPG")
    make_judged_photo(session, faces=BLINK, name="IMG_0002.JPG")
    make_judged_photo(session, faces=BORDERLINE, name="IMG_0003.JPG")  # near the cut-off: to check
    return session


def _names(cards):
    return sorted(c.photo.original_filename for c in cards)


def test_keepers_leave_photos_to_check_apart_unless_asked(session):
    cards = selectors.session_cards(session=session)
    assert [c.photo.original_filename for c in cards if c.to_check] == ["IMG_0003.JPG"]
    assert _names(keepers(cards)) == ["IMG_0001.JPG"]
    assert _names(keepers(cards, ExportOptions(check_photos="keepers"))) == ["IMG_0001.JPG", "IMG_0003.JPG"]
    assert _names(keepers(cards, ExportOptions(check_photos="rejects"))) == ["IMG_0001.JPG"]
    check = next(c for c in cards if c.to_check)
    assert sidecar_values(check, ExportOptions()) [1] == "Purple"  # apart: the check colour
    assert sidecar_values(check, ExportOptions(check_photos="rejects")) == (-1, "Red")
    assert sidecar_values(check, ExportOptions(check_photos="keepers")) == (0, "")
    assert filename_filter(cards, which=KEEPERS) == "IMG_0001"


def test_the_keepers_zip_the_gallery_and_the_cli_agree(session, tmp_path, capsys):
    path, written = export_write(session=session, fmt="keepers-zip", out=tmp_path / "k.zip")
    assert written == 1 and zipfile.ZipFile(path).namelist() == ["IMG_0001.JPG"]
    assert [p.original_filename for p in session_gallery_sources(session=session).keepers] == ["IMG_0001.JPG"]
    call_command("export_session", str(session.uuid), "--format", "keepers-zip", "--out", str(tmp_path / "c.zip"))
    err = capsys.readouterr().err
    assert "1 photo still to check (nobody decided it) kept apart" in err and "--check-photos" in err
    call_command("export_session", str(session.uuid), "--format", "keepers-zip", "--out", str(tmp_path / "d.zip"),
                 "--check-photos", "keepers")
    assert sorted(zipfile.ZipFile(tmp_path / "d.zip").namelist()) == ["IMG_0001.JPG", "IMG_0003.JPG"]


def test_the_exports_page_says_how_many_are_unresolved_and_links_to_them(session, client):
    client.force_login(session.owner)
    page = client.get(f"/sessions/{session.uuid}/exports/").content.decode()
    assert "1 photo still to check" in page and f'/sessions/{session.uuid}/review/#check' in page
    assert 'name="check_photos"' in page and "1 keeper," in page
