"""Camera RAW through upload and `import_session`, and RAW + JPEG pairs as one photo (issue 20.1, 20.2)."""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from classifier import services as classifier_services
from review.exports.services import export_write
from sessions_app import services
from sessions_app.models import Photo, PhotoSession
from tests.factories import jpeg_bytes
from tests.raw_builders import dng_bytes
from tests.review_builders import OPEN, make_judged_photo

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "raw"
READABLE = {"CanonRaw.cr3": ".cr3", "CanonRaw.crw": ".crw", "DNG.dng": ".dng", "FujiFilm.raf": ".raf",
            "Nikon.nef": ".nef", "Panasonic.rw2": ".rw2", "Minolta.mrw": ".mrw", "PhaseOne.iiq": ".iiq",
            "Sigma.x3f": ".x3f"}


def upload(session, name: str, data: bytes):
    return classifier_services.photo_upload(session=session, fileobj=SimpleUploadedFile(name, data), filename=name)


@pytest.mark.parametrize(("name", "extension"), sorted(READABLE.items()))
def test_every_raw_kind_is_stored_by_its_content(alice_session, enqueued, name, extension,
                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = upload(alice_session, name, (FIXTURES / name).read_bytes())

    photo = result.photo
    assert (photo.extension, photo.is_raw, photo.original_filename) == (extension, True, name)
    assert photo.content_type.startswith("image/x-")
    assert enqueued == [photo.id]


def test_a_raw_renamed_jpg_is_still_a_raw_and_text_renamed_cr2_is_refused(alice_session):
    photo = upload(alice_session, "IMG_0001.jpg", dng_bytes()).photo
    assert (photo.extension, photo.content_type) == (".dng", "image/x-adobe-dng")

    with pytest.raises(services.UploadRejected, match=r"^not an image \(looks like a text file\)"):
        upload(alice_session, "IMG_0002.CR2", b"these are not the pixels you are looking for\n" * 20)


def test_a_raw_libraw_cannot_read_is_refused_with_its_reason(alice_session):
    with pytest.raises(services.UploadRejected) as caught:
        upload(alice_session, "IMG_0003.CR2", (FIXTURES / "CanonRaw.cr2").read_bytes())
    assert caught.value.reason.startswith("this camera RAW file can't be read (a Canon CR2 RAW file")
    assert alice_session.rejected_uploads.get().filename == "IMG_0003.CR2"


@pytest.mark.parametrize("raw_first", [True, False])
def test_raw_and_jpeg_with_the_same_base_name_become_one_photo_across_requests(
        alice_session, enqueued, raw_first, django_capture_on_commit_callbacks):
    raw, jpeg = dng_bytes(), jpeg_bytes(color=(90, 20, 30))
    files = [("IMG_0001.CR3", raw), ("img_0001.JPG", jpeg)]
    with django_capture_on_commit_callbacks(execute=True):
        results = [upload(alice_session, name, data) for name, data in (files if raw_first else files[::-1])]

    photo = Photo.objects.get(session=alice_session)
    assert [r.paired for r in results] == [False, True]
    assert (photo.original_filename, photo.companion_filename) == ("IMG_0001.CR3", "img_0001.JPG")
    assert photo.is_raw and photo.original.read() == raw and photo.companion.read() == jpeg
    assert enqueued == [photo.id]  # queued once: the photo still waited for its worker
    # The same JPEG again is a duplicate of the pair, not a second photo.
    assert upload(alice_session, "copy.jpg", jpeg).duplicate


def test_a_twin_arriving_after_the_analysis_queues_the_photo_again(alice_session, enqueued,
                                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = upload(alice_session, "IMG_0009.JPG", jpeg_bytes())
    Photo.objects.filter(pk=first.photo.pk).update(status=Photo.Status.DONE)
    with django_capture_on_commit_callbacks(execute=True):
        second = upload(alice_session, "IMG_0009.DNG", dng_bytes())

    assert (second.paired, second.requeued) == (True, True)
    assert Photo.objects.get(pk=first.photo.pk).status == Photo.Status.QUEUED
    assert enqueued == [first.photo.pk, first.photo.pk]


def test_two_raws_or_two_jpegs_with_one_base_name_stay_apart(alice_session):
    upload(alice_session, "IMG_0005.JPG", jpeg_bytes(color=(1, 2, 3)))
    upload(alice_session, "IMG_0005.jpeg", jpeg_bytes(color=(3, 2, 1)))
    upload(alice_session, "IMG_0006.DNG", dng_bytes(orientation=1))
    upload(alice_session, "IMG_0006.CR3", dng_bytes(orientation=6))

    assert alice_session.photos.count() == 4
    assert not alice_session.photos.exclude(companion="").exists()


def _run(*args) -> list[str]:
    out = io.StringIO()
    call_command("import_session", *args, stdout=out)
    return out.getvalue().splitlines()


def test_import_session_pairs_and_reports_every_raw_kind(alice, tmp_path, enqueued, django_capture_on_commit_callbacks):
    for name in [*READABLE, "CanonRaw.cr2"]:
        (tmp_path / name).write_bytes((FIXTURES / name).read_bytes())
    (tmp_path / "IMG_0100.DNG").write_bytes(dng_bytes())
    (tmp_path / "IMG_0100.JPG").write_bytes(jpeg_bytes())
    (tmp_path / "notes.cr2").write_text("shot list\n")

    with django_capture_on_commit_callbacks(execute=True):
        lines = _run("--owner", "alice@example.com", "--title", "RAW card", str(tmp_path))

    status = {line.split(None, 1)[1].split(":")[0].rsplit("/", 1)[-1]: line.split()[0] for line in lines[:-2]}
    assert status == {**{name: "imported" for name in READABLE}, "CanonRaw.cr2": "rejected",
                      "IMG_0100.DNG": "imported", "IMG_0100.JPG": "paired", "notes.cr2": "rejected"}
    assert any(line.startswith("paired") and line.endswith("IMG_0100.JPG: with IMG_0100.DNG") for line in lines)
    assert any(line.endswith("notes.cr2: not an image (looks like a text file)") for line in lines)
    assert lines[-2] == "10 imported, 1 paired, 0 duplicate, 2 rejected (queued for the worker)"
    assert not any("Traceback" in line for line in lines)
    session = PhotoSession.objects.get(uuid=lines[-1])
    assert session.photos.count() == 10 and len(enqueued) == 10


def test_exports_give_both_files_of_a_pair_byte_for_byte(alice_session, tmp_path):
    raw, jpeg = dng_bytes(), jpeg_bytes(color=(5, 6, 7))
    single = make_judged_photo(alice_session, faces=OPEN, name="IMG_0200.JPG")
    pair = make_judged_photo(alice_session, faces=OPEN, name="IMG_0201.CR3")
    # The pair is put together by hand here: pairing itself is tested through uploads above.
    pair.original.save("x.dng", io.BytesIO(raw), save=False)
    pair.companion.save("x.jpg", io.BytesIO(jpeg), save=False)
    pair.content_type, pair.companion_filename = "image/x-canon-cr3", "IMG_0201.JPG"
    pair.save()

    zip_path, _ = export_write(session=alice_session, fmt="keepers-zip", out=tmp_path / "k.zip")
    with zipfile.ZipFile(zip_path) as zf:
        assert sorted(zf.namelist()) == ["IMG_0200.JPG", "IMG_0201.CR3", "IMG_0201.JPG"]
        assert zf.read("IMG_0201.CR3") == raw and zf.read("IMG_0201.JPG") == jpeg
        assert zf.read("IMG_0200.JPG") == single.original.open("rb").read()

    csv_path, _ = export_write(session=alice_session, fmt="csv", out=tmp_path / "r.csv")
    header, *rows = list(csv.reader(csv_path.read_text(encoding="utf-8-sig").splitlines()))
    at = header.index("paired_with")
    assert header[at - 2:at] == ["outcome", "reasons"]  # before the per-check columns, whose number grows
    assert {r[0]: r[at] for r in rows} == {"IMG_0200.JPG": "", "IMG_0201.CR3": "IMG_0201.JPG"}  # one row per pair

    for naming, names in (("basename", {"IMG_0200.xmp", "IMG_0201.xmp"}),
                          ("full", {"IMG_0200.JPG.xmp", "IMG_0201.CR3.xmp", "IMG_0201.JPG.xmp"})):
        folder, _ = export_write(session=alice_session, fmt="xmp", out=tmp_path / f"xmp-{naming}",
                                 options={"xmp_naming": naming})
        assert {p.name for p in folder.iterdir()} == names  # never an "IMG_0201 (2).xmp" for the pair


def test_the_worker_analyses_a_raw_a_pair_once_and_a_damaged_raw_fails_alone(alice, tmp_path):
    from classifier.models import Prediction
    from classifier.services.eye_zoom import _open

    (tmp_path / "IMG_0300.DNG").write_bytes(dng_bytes(preview_size=(1800, 1200), orientation=6))
    (tmp_path / "IMG_0301.DNG").write_bytes(dng_bytes(preview_size=(1800, 1200)))
    (tmp_path / "IMG_0301.JPG").write_bytes(jpeg_bytes(size=(2400, 1600)))
    (tmp_path / "IMG_0302.NEF").write_bytes((FIXTURES / "Nikon.nef").read_bytes())  # its pixel data is cut away

    lines = _run("--owner", "alice@example.com", "--title", "RAW inline", "--inline", str(tmp_path))

    session = PhotoSession.objects.get(uuid=lines[-1])
    by_name = {p.original_filename: p for p in session.photos.all()}
    single, pair, broken = by_name["IMG_0300.DNG"], by_name["IMG_0301.DNG"], by_name["IMG_0302.NEF"]
    assert (single.status, pair.status, broken.status) == ("done", "done", "failed"), lines
    assert (single.width, single.height) == (1200, 1800)  # upright, from the RAW's orientation
    assert broken.error == "the RAW file is damaged: its image data is corrupt (a Nikon NEF RAW file)"
    assert any(line.startswith("failed") and line.endswith("IMG_0302.NEF: " + broken.error) for line in lines)
    source = Prediction.objects.get(photo=single).details["source"]
    assert source == {"file": "IMG_0300.DNG", "decoded": "DNG RAW, embedded JPEG preview 1800x1200"}
    # The pair was analysed once, from its JPEG (2400 px beats the RAW's 1800 px preview).
    assert Prediction.objects.get(photo=pair).details["source"]["file"] == "IMG_0301.JPG"
    assert pair.width == 2400
    # 100 % zooms read the RAW's full-size preview, upright.
    assert _open(single.original.name, raw=True).size == (1200, 1800)
