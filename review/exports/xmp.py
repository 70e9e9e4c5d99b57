"""XMP sidecars: xmp:Rating and xmp:Label per photo, as Lightroom, Capture One and darktable read them.

Keepers get `rating_keeper` / `label_keeper`, blinking photos `rating_blinking` / `label_blinking` (Red);
photos still in the review's "check these" group keep their verdict's rating and get `label_check`
(Purple by default, the review's colour for the group).

`IMG_0001.xmp` (basename naming) is what Adobe and Capture One look for beside a raw or JPEG of the same
stem, so a studio shooting RAW+JPEG can drop the sidecars next to the raws. `IMG_0001.JPG.xmp` (full
naming) is darktable's and digiKam's convention.

A RAW + JPEG pair gets one `IMG_0001.xmp` with basename naming (both files share it: no collision), and
one sidecar per file with full naming (`IMG_0001.CR3.xmp` and `IMG_0001.JPG.xmp`, the same values).
"""
from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO
from xml.sax.saxutils import escape, quoteattr

from classifier import selectors as classifier_selectors

from ..outcome import YES
from ..selectors import PhotoCard
from .naming import UniqueNames, safe_companion_filename, safe_filename
from .options import NAMING_FULL, ExportOptions

# The standard packet wrapper: begin="BOM" lets readers detect the encoding; end="w" marks it writable.
_PACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
_PACKET_END = '<?xpacket end="w"?>'


def sidecar_name(filename: str, *, naming: str) -> str:
    if naming == NAMING_FULL:
        return f"{filename}.xmp"
    return f"{os.path.splitext(filename)[0]}.xmp"


def sidecar_values(card: PhotoCard, options: ExportOptions) -> tuple[int, str]:
    """(rating, label) for a judged photo: blinking photos are rejects, everything else a keeper; a photo
    still to check keeps its verdict's rating with the check colour (its verdict is the label in force)."""
    rating, label = ((options.rating_keeper, options.label_keeper) if card.is_keeper
                     else (options.rating_blinking, options.label_blinking))
    return rating, (options.label_check or label) if card.to_check else label


def flag_keywords(card: PhotoCard, options: ExportOptions | None = None) -> list[str]:
    """The keywords ("Eye Spy|blink": the check's own, or the export's choice) of every flag in force."""
    options = options or ExportOptions()
    words = {c["key"]: options.keyword_for(c["key"], c["words"]["keyword"]) for c in classifier_selectors.checks()}
    flags = card.outcome.flags if card.outcome is not None else ()
    return [words[f.key] for f in flags if f.state == YES and words.get(f.key)]


def _bag(tag: str, items: list[str]) -> str:
    lis = "".join(f"\n      <rdf:li>{escape(item)}</rdf:li>" for item in items)
    return f"\n   <{tag}>\n    <rdf:Bag>{lis}\n    </rdf:Bag>\n   </{tag}>"


def sidecar_bytes(*, rating: int, label: str, metadata_date: datetime | None = None,
                  keywords: list[str] | None = None) -> bytes:
    """One XMP packet. MetadataDate tells Lightroom the file's metadata is newer than its catalog.
    `keywords` ("Eye Spy|blink") go to lr:hierarchicalSubject, their last part to dc:subject, where
    Lightroom, Capture One and Bridge read keywords (a reject must survive as a keyword: Lightroom keeps
    pick/reject flags in its catalog only)."""
    stamp = (metadata_date or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    attrs = [f"xmp:Rating={quoteattr(str(int(rating)))}", f"xmp:MetadataDate={quoteattr(stamp)}"]
    if label:
        attrs.append(f"xmp:Label={quoteattr(label)}")
    body = "\n    ".join(attrs)
    keywords = keywords or []
    if keywords:
        leaves = list(dict.fromkeys(k.split("|")[-1] for k in keywords))
        inner = _bag("dc:subject", leaves) + _bag("lr:hierarchicalSubject", keywords)
        description = (f'  <rdf:Description rdf:about=""\n    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
                       f'    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
                       f'    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"\n    {body}>{inner}\n  </rdf:Description>\n')
    else:
        description = (f'  <rdf:Description rdf:about=""\n    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
                       f"    {body}/>\n")
    text = (
        f"{_PACKET_BEGIN}\n"
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Eye Spy">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f"{description}"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        f"{_PACKET_END}\n"
    )
    return text.encode("utf-8")


def _sidecars(cards: Iterable[PhotoCard], options: ExportOptions):
    names = UniqueNames()
    now = datetime.now(timezone.utc)
    for card in cards:
        if card.unreadable:
            continue  # no verdict, nothing to say about it
        rating, label = sidecar_values(card, options)
        data = sidecar_bytes(rating=rating, label=label, metadata_date=now, keywords=flag_keywords(card, options))
        yield names.claim(sidecar_name(safe_filename(card.photo), naming=options.xmp_naming)), data
        twin = safe_companion_filename(card.photo)
        if twin and options.xmp_naming == NAMING_FULL:
            yield names.claim(sidecar_name(twin, naming=NAMING_FULL)), data


def write_xmp_zip(
    cards: Iterable[PhotoCard], dest: BinaryIO, *, options: ExportOptions, progress: Callable[[int], None] | None = None
) -> int:
    """A ZIP of one sidecar per judged photo. Returns how many were written."""
    done = 0
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in _sidecars(cards, options):
            zf.writestr(name, data)
            done += 1
            if progress:
                progress(done)
    return done


def write_xmp_folder(
    cards: Iterable[PhotoCard], folder: Path, *, options: ExportOptions, progress: Callable[[int], None] | None = None
) -> list[Path]:
    """One sidecar per judged photo into `folder` (created if needed; existing sidecars are replaced)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in _sidecars(cards, options):
        path = folder / name
        path.write_bytes(data)
        written.append(path)
        if progress:
            progress(len(written))
    return written
