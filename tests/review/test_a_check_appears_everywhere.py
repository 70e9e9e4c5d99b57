"""Adding a check is one ml module plus its registration: a test-only check, registered here and nowhere
else, is analysed by the photo task and shows up in the review (its group, its reason, the rejects'
breakdown), the counts, the CSV (a flag column), the XMP sidecars (its keyword) and the folders ZIP (its
folder), with no other file changed."""
from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.test import Client as WebClient

from classifier import services as classifier_services
from review import selectors
from review.exports import export_write
from tests.checks import WideFrameCheck, registered
from tests.factories import jpeg_bytes, make_photo, make_session, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def wide_check():
    with registered(WideFrameCheck()) as check:
        yield check


@pytest.fixture
def shoot(wide_check):
    alice = make_user("alice@example.com")
    session = make_session(alice, title="Banners")
    photos = {name: make_photo(session, name=name, data=jpeg_bytes(size=size, comment=name.encode()))
              for name, size in (("PANO.JPG", (800, 400)), ("SQUARE.JPG", (400, 400)))}
    for photo in photos.values():
        classifier_services.photo_process(photo_id=photo.id)  # the real photo task: every check analysed
    web = WebClient()
    web.force_login(alice)
    return session, web


def test_the_check_groups_and_counts_photos_in_the_review(shoot):
    session, web = shoot
    groups = selectors.session_groups(session=session)
    assert [c.photo.original_filename for c in groups.blinking] == ["PANO.JPG"]  # Rejects
    assert [c.photo.original_filename for c in groups.not_blinking] == ["SQUARE.JPG"]  # Keepers (no face to judge)
    assert groups.group("blinking").breakdown == [("Wide frame", 1)]
    assert selectors.session_summary(session=session).counts == groups.counts
    html = web.get(f"/sessions/{session.uuid}/review/").content.decode()
    assert "Wide frame: 2.00 wide for 1 tall (limit 1.50)" in html and "Wide frame 1" in html


def test_the_checks_own_slider_moves_photos(shoot):
    session, _ = shoot
    three_two = make_photo(session, name="3x2.JPG", data=jpeg_bytes(size=(600, 400), comment=b"3x2"))
    classifier_services.photo_process(photo_id=three_two.id)
    rejects = lambda: sorted(c.photo.original_filename for c in selectors.session_groups(session=session).blinking)
    assert rejects() == ["PANO.JPG"]  # 1.5 is not over 0.5's limit of 1.50
    session.check_strictness = {"wide": 1.0}  # limit 1.30; the eyes' slider is untouched
    session.save()
    assert rejects() == ["3x2.JPG", "PANO.JPG"] and session.strictness == 0.5


def test_the_check_is_in_the_csv_the_xmp_and_the_folders(shoot, tmp_path):
    session, _ = shoot
    path, _ = export_write(session=session, fmt="csv", out=tmp_path / "report.csv")
    rows = {r["file_name"]: r for r in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))}
    assert (rows["PANO.JPG"]["flag_wide"], rows["PANO.JPG"]["outcome"]) == ("yes", "reject")
    assert rows["PANO.JPG"]["reasons"] == "2.00 wide for 1 tall (limit 1.50)"
    assert (rows["SQUARE.JPG"]["flag_wide"], rows["SQUARE.JPG"]["outcome"]) == ("no", "keeper")

    folder, _ = export_write(session=session, fmt="xmp", out=tmp_path / "xmp")
    assert "<rdf:li>Eye Spy|wide frame</rdf:li>" in (folder / "PANO.xmp").read_text()
    assert "wide frame" not in (folder / "SQUARE.xmp").read_text()

    zipped, _ = export_write(session=session, fmt="folders-zip", out=tmp_path / "f.zip")
    with zipfile.ZipFile(zipped) as zf:
        assert sorted(zf.namelist()) == ["NOT_BLINKING/SQUARE.JPG", "WIDE/PANO.JPG"]


def test_the_photographer_corrects_the_check_photo_by_photo_and_undoes(shoot):
    session, web = shoot
    pano = session.photos.get(original_filename="PANO.JPG")
    url = f"/photos/{pano.uuid}/correct/"
    htmx = {"HTTP_HX_REQUEST": "true"}
    assert web.post(url, {"flag": "wide", "value": "clear"}, **htmx).status_code == 200  # "not too wide"
    card = selectors.photo_card(photo=pano)
    assert card.outcome.kind == "keeper" and card.outcome.flag("wide").decided
    refused = web.post(url, {"flag": "wide", "value": "clear", "face": "0"}, **htmx)
    assert refused.status_code == 400 and "judged on the whole photo" in refused.content.decode()
    undone = web.post(f"/photos/{pano.uuid}/undo/", **htmx)
    assert undone.status_code == 200 and "it is too wide again" in undone.content.decode()
    assert selectors.photo_card(photo=pano).outcome.kind == "reject"  # the machine's word again


def test_the_card_and_the_loupe_have_the_checks_own_buttons(shoot):
    session, web = shoot
    pano = session.photos.get(original_filename="PANO.JPG")
    html = web.get(f"/sessions/{session.uuid}/review/").content.decode()
    card = html[html.index(f'id="card-{pano.uuid}"'):]
    card = card[:card.index("</article>")]
    assert '<button class="btn btn-sm act-flag" name="decision" value="wide:flagged" aria-pressed="true">Too wide <kbd>W</kbd>' in card
    assert 'value="wide:clear">Not too wide</button>' in card  # "shift+w" is no plain key: no hint
    assert 'value=":keep">Keep anyway <kbd>A</kbd>' in card and 'value=":reject">Reject <kbd>R</kbd>' in card
    square = session.photos.get(original_filename="SQUARE.JPG")
    other = html[html.index(f'id="card-{square.uuid}"'):]
    assert "act-flag" not in other[:other.index("</article>")]  # the check is quiet there: no buttons for it
    loupe = web.get(f"/photos/{pano.uuid}/loupe/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-loupe-decision="wide:clear" data-words="not too wide"' in loupe and 'data-loupe-decision=":keep"' in loupe

    htmx = {"HTTP_HX_REQUEST": "true"}
    assert web.post(f"/photos/{pano.uuid}/correct/", {"decision": "wide:clear"}, **htmx).status_code == 200
    assert selectors.photo_card(photo=pano).outcome.kind == "keeper"
    assert web.post(f"/photos/{pano.uuid}/correct/", {"decision": ":reject"}, **htmx).status_code == 200
    assert selectors.photo_card(photo=pano).whole_photo_call == "reject"
    refused = web.post(f"/photos/{pano.uuid}/correct/", {"decision": "wide:maybe"}, **htmx)
    assert refused.status_code == 400


def test_export_session_keeps_the_old_options_and_takes_a_keyword_per_check(shoot, tmp_path):
    from django.core.management import call_command

    session, _ = shoot
    out = tmp_path / "xmp"
    call_command("export_session", str(session.uuid), "--format", "xmp", "--out", str(out),
                 "--rating-blinking", "-1", "--label-blinking", "red", "--flag-keyword", "wide=Culled|banner")
    pano = (out / "PANO.xmp").read_text()
    assert "<rdf:li>Culled|banner</rdf:li>" in pano and "<rdf:li>banner</rdf:li>" in pano
    assert 'xmp:Rating="-1"' in pano and 'xmp:Label="Red"' in pano
    call_command("export_session", str(session.uuid), "--format", "xmp", "--out", str(tmp_path / "x2"),
                 "--rating-reject", "-1", "--label-reject", "Yellow", "--flag-keyword", "wide=none")
    assert "Subject" not in (tmp_path / "x2" / "PANO.xmp").read_text()  # no keywords (its reasons stay)
    assert 'xmp:Label="Yellow"' in (tmp_path / "x2" / "PANO.xmp").read_text()


def test_the_check_gets_its_own_slider_on_the_review_page(shoot):
    session, web = shoot
    html = web.get(f"/sessions/{session.uuid}/review/").content.decode()
    assert 'id="strictness-wide"' in html and ">Wide frame</label>" in html
    assert web.post(f"/sessions/{session.uuid}/review/checks/wide/strictness/", {"strictness": "0.9"}).status_code == 302
    session.refresh_from_db()
    assert session.check_strictness == {"wide": 0.9} and session.strictness == 0.5
    web.post(f"/sessions/{session.uuid}/review/checks/blink/strictness/", {"strictness": "0.1"})  # the eyes' has its own
    web.post(f"/sessions/{session.uuid}/review/checks/nope/strictness/", {"strictness": "0.1"})
    session.refresh_from_db()
    assert session.check_strictness == {"wide": 0.9}


def test_the_review_filters_by_the_check(shoot):
    session, web = shoot
    html = web.get(f"/sessions/{session.uuid}/review/").content.decode()
    assert '<option value="wide">Wide frame (1)</option>' in html
    pano = session.photos.get(original_filename="PANO.JPG")
    card = html[html.index(f'id="card-{pano.uuid}"'):]
    assert 'data-flags="wide"' in card[:card.index(">")]


def test_xmp_can_give_each_checks_rejects_their_own_colour(shoot, tmp_path):
    session, _ = shoot
    folder, _ = export_write(session=session, fmt="xmp", out=tmp_path / "own",
                             options={"flag_labels": ["wide=yellow"]})
    assert 'xmp:Label="Yellow"' in (folder / "PANO.xmp").read_text()  # rejected by the wide check
    folder, _ = export_write(session=session, fmt="xmp", out=tmp_path / "default")
    assert 'xmp:Label="Red"' in (folder / "PANO.xmp").read_text()  # --label-reject for every check
    from review.exports import ExportError, ExportOptions

    with pytest.raises(ExportError, match="KEY=LABEL"):
        ExportOptions.from_dict({"flag_labels": ["wide=Mauve"]})
