"""The "with metadata embedded" ZIP: every judged photo's original(s), with Eye Spy's XMP written into
copies of JPEG, TIFF, DNG and HEIC files (pixels untouched, see `xmp_embed`) and a sidecar beside the rest
(camera RAWs, PNG, WebP), plus a README saying which editor reads which field and which files got
a sidecar and why. A file we can't write into safely goes in unchanged with a sidecar, its reason listed.
"""
from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import BinaryIO

from ..selectors import PhotoCard
from .naming import UniqueNames, safe_companion_filename, safe_filename
from .options import NAMING_FULL, ExportError, ExportOptions
from .xmp import photo_fields, sidecar_name
from .xmp_embed import read_embedded, write_embedded
from .xmp_packet import XmpError, merge
from .zips import CHUNK, zip_time

# What we write into: XMP has a standard place in these, and editors read it there.
EMBEDDABLE_TYPES = {"image/jpeg", "image/tiff", "image/x-adobe-dng", "image/heic", "image/heif"}
README_NAME = "README-metadata.txt"

EDITORS = """\
Which editor reads which field (from each editor's own documentation):

  Field                       What Eye Spy puts there
  xmp:Rating                  -1 for a reject, your keeper rating (0 = none) otherwise
  xmp:Label                   a colour name (Red for a reject, Purple for "check", as chosen)
  lr:hierarchicalSubject      Eye Spy|blink per flag, Eye Spy|reject|blink per rejecting check
  dc:subject                  the last part of each keyword (blink)
  dc:description              one line "Eye Spy: reject: <reasons>" below any caption you wrote

  Lightroom Classic   reads XMP embedded in JPEG, TIFF and DNG, and IMG_0001.xmp sidecars beside
                      proprietary RAWs (never sidecars of JPEGs). Stars from xmp:Rating (-1 does not
                      become its Rejected flag, which lives in the catalog only: filter on the keyword
                      "reject" or the colour instead), colour label from xmp:Label when the name matches
                      its label set (the default: Red, Yellow, Green, Blue, Purple), keywords with their
                      hierarchy from lr:hierarchicalSubject, caption from dc:description. Photos already in
                      a catalog: Metadata > Read Metadata from Files.
  Capture One         reads IMG_0001.xmp sidecars and embedded XMP: rating, colour tag (xmp:Label),
                      keywords (dc:subject, with hierarchy from lr:hierarchicalSubject), description.
  darktable           reads IMG_0001.CR3.xmp sidecars (choose "full" naming) and embedded XMP on import:
                      xmp:Rating (-1 = rejected), colour labels, tags from lr:hierarchicalSubject
                      (Eye Spy|reject|blink) and dc:subject, description.
  Photo Mechanic      reads IMG_0001.xmp sidecars and embedded XMP: star rating, xmp:Label as its colour
                      class, keywords (dc:subject; structured keywords from lr:hierarchicalSubject),
                      caption from dc:description.
  Adobe Bridge        reads embedded XMP and sidecars: xmp:Rating (-1 shows as Reject), xmp:Label (shown
                      as a colour only if the name matches Bridge's label names; rename them to Red,
                      Yellow, ... under Preferences > Labels), keywords, description.

HEIC copies carry the XMP inside as well (an XMP item; the image data is untouched). Not every editor
reads XMP inside a HEIC yet: where yours doesn't, export XMP sidecars for those photos.

Writing into an existing file or sidecar again (manage.py sync_xmp) changes only these fields; your own
keywords, captions and develop settings stay.
"""


def readme_text(*, embedded: int, sidecars: list[tuple[str, str]], options: ExportOptions) -> str:
    lines = ["Eye Spy: photos with their culling metadata", "",
             f"{embedded} file(s) carry the metadata inside them (XMP; the image data is untouched).", ""]
    if sidecars:
        lines.append("These got a sidecar (.xmp) beside them instead:")
        lines += [f"  {name}: {why}" for name, why in sidecars]
        lines.append("")
    naming = "IMG_0001.CR3.xmp (darktable, digiKam)" if options.xmp_naming == NAMING_FULL else \
        "IMG_0001.xmp (Lightroom, Capture One, Photo Mechanic)"
    lines += [f"Sidecars are named {naming}.", "", EDITORS]
    return "\n".join(lines)


def _sidecar_reason(content_type: str) -> str:
    if content_type.startswith("image/x-"):
        return "a camera RAW: editors read XMP beside RAWs, never written into them"
    return f"{content_type or 'this type'}: Eye Spy does not write into these files"


class _Writer:
    def __init__(self, zf: zipfile.ZipFile, options: ExportOptions) -> None:
        self.zf, self.options = zf, options
        self.names = UniqueNames()
        self.now = datetime.now(timezone.utc)
        self.embedded = 0
        self.sidecars: list[tuple[str, str]] = []
        self.written_sidecars: set[str] = set()

    def add(self, card: PhotoCard, *, companion: bool) -> None:
        photo = card.photo
        field = photo.companion if companion else photo.original
        content_type = photo.companion_content_type if companion else photo.content_type
        arcname = self.names.claim(safe_companion_filename(photo) if companion else safe_filename(photo))
        fields = photo_fields(card, self.options)
        info = zipfile.ZipInfo(arcname, date_time=zip_time(card))
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        try:
            src = field.open("rb")
        except FileNotFoundError:
            raise ExportError(f"the original of {arcname} is missing from storage") from None
        with src:
            if content_type in EMBEDDABLE_TYPES:
                try:
                    self._embedded(src, info, fields)
                    self.embedded += 1
                    return
                except XmpError as exc:
                    reason = f"not written into ({exc.reason})"
            else:
                reason = _sidecar_reason(content_type)
            src.seek(0)
            with self.zf.open(info, "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, CHUNK)
        self._sidecar(arcname, fields, reason)

    def _embedded(self, src: BinaryIO, info: zipfile.ZipInfo, fields) -> None:
        packet, _ = merge(read_embedded(src), fields, keep_their_rating=self.options.keep_their_rating,
                          now=self.now)
        # Plan in memory first (write_embedded checks everything before writing): a file that fails
        # leaves no half entry in the ZIP.
        out = io.BytesIO()
        write_embedded(src, out, packet)
        with self.zf.open(info, "w", force_zip64=True) as dst:
            dst.write(out.getbuffer())

    def _sidecar(self, arcname: str, fields, reason: str) -> None:
        name = sidecar_name(arcname, naming=self.options.xmp_naming)
        if name.lower() in self.written_sidecars:
            return  # a pair with basename naming shares IMG_0001.xmp
        self.written_sidecars.add(name.lower())
        self.zf.writestr(self.names.claim(name), merge(None, fields, now=self.now)[0])
        self.sidecars.append((arcname, reason))


def write_embedded_zip(cards: Iterable[PhotoCard], dest: BinaryIO, *, options: ExportOptions,
                       progress: Callable[[int], None] | None = None) -> int:
    """Every judged photo (both files of a pair) with its metadata; returns how many photos went in."""
    done = 0
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        writer = _Writer(zf, options)
        for card in cards:
            if card.unreadable:
                continue
            writer.add(card, companion=False)
            if card.photo.is_pair:
                writer.add(card, companion=True)
            done += 1
            if progress:
                progress(done)
        zf.writestr(README_NAME, readme_text(embedded=writer.embedded, sidecars=writer.sidecars, options=options))
    return done
