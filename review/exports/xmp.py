"""XMP sidecars: xmp:Rating and xmp:Label per photo, as Lightroom, Capture One and darktable read them.

Keepers get `rating_keeper` / `label_keeper`, blinking photos `rating_blinking` / `label_blinking` (Red);
photos still in the review's "check these" group keep their verdict's rating and get `label_check`
(Purple by default, the review's colour for the group).

`IMG_0001.xmp` (basename naming) is what Adobe and Capture One look for beside a raw or JPEG of the same
stem, so a studio shooting RAW+JPEG can drop the sidecars next to the raws. `IMG_0001.JPG.xmp` (full
naming) is darktable's and digiKam's convention.

A RAW + JPEG pair gets one `IMG_0001.xmp` with basename naming (both files share it: no collision), and
one sidecar per file with full naming (`IMG_0001.CR3.xmp` and `IMG_0001.JPG.xmp`, the same values).

A reject travels three ways, since no editor reads them all: xmp:Rating -1, a colour label, and a
hierarchical keyword per rejecting check (`Eye Spy|reject|blink`, beside the flag's own `Eye Spy|blink`);
its reasons go in dc:description. Packets are built and merged by `xmp_packet`.
"""
from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO
from classifier import selectors as classifier_selectors

from ..outcome import CHECK, REJECT, YES
from ..selectors import PhotoCard
from .naming import UniqueNames, safe_companion_filename, safe_filename
from .options import CHECK_APART, CHECK_AS_KEEPERS, NAMING_FULL, ExportOptions
from .xmp_packet import ROOT_KEYWORD, XmpFields, merge


def sidecar_name(filename: str, *, naming: str) -> str:
    if naming == NAMING_FULL:
        return f"{filename}.xmp"
    return f"{os.path.splitext(filename)[0]}.xmp"


def sidecar_values(card: PhotoCard, options: ExportOptions) -> tuple[int, str]:
    """(rating, label) for a judged photo: rejects and keepers by its outcome; a photo still to check keeps
    its reading's rating with the check colour, unless the export counts those as keepers or rejects."""
    if card.to_check and options.check_photos != CHECK_APART:
        keeper = options.check_photos == CHECK_AS_KEEPERS
        return (options.rating_keeper, options.label_keeper) if keeper else (options.rating_blinking, options.label_blinking)
    rejected_by = card.outcome.rejected_by if card.outcome is not None else ()
    rating, label = ((options.rating_keeper, options.label_keeper) if card.is_keeper
                     else (options.rating_blinking, options.reject_label_for(rejected_by)))
    return rating, (options.label_check or label) if card.to_check else label


def _check_keywords(options: ExportOptions) -> dict[str, str]:
    return {c["key"]: options.keyword_for(c["key"], c["words"]["keyword"]) for c in classifier_selectors.checks()}


def flag_keywords(card: PhotoCard, options: ExportOptions | None = None) -> list[str]:
    """The keywords ("Eye Spy|blink": the check's own, or the export's choice) of every flag in force."""
    words = _check_keywords(options or ExportOptions())
    flags = card.outcome.flags if card.outcome is not None else ()
    found = [words[f.key] for f in flags if f.state == YES and words.get(f.key)]
    return found + [k for f in flags for k in f.keywords if k not in found]  # a check's own extras (bursts)


def reject_keyword(keyword: str) -> str:
    """"Eye Spy|blink" -> "Eye Spy|reject|blink": the same check's word under its root's "reject" branch, so
    one click on "reject" in an editor's keyword list shows every reject, whichever check made it."""
    root, _, rest = keyword.partition("|")
    return f"{root}|reject|{rest}" if rest else f"reject|{root}"


def photo_keywords(card: PhotoCard, options: ExportOptions | None = None) -> list[str]:
    """Flag keywords, then for a reject one `…|reject|<check>` per rejecting check (or "Eye Spy|reject"
    when the photographer rejected the whole photo). A check whose keyword is switched off gives neither."""
    options = options or ExportOptions()
    words = _check_keywords(options)
    keywords = flag_keywords(card, options)
    outcome = card.outcome
    if outcome is not None and outcome.kind == REJECT:
        if outcome.rejected_by:
            keywords += [reject_keyword(words[key]) for key in outcome.rejected_by if words.get(key)]
        else:
            keywords.append(f"{ROOT_KEYWORD}|reject")
    return list(dict.fromkeys(keywords))


def photo_description(card: PhotoCard) -> str:
    """Our line of dc:description: "reject: <reasons>" or "check: <reasons>"; '' for a keeper without notes."""
    outcome = card.outcome
    if outcome is None:
        return ""
    parts = []
    if outcome.kind in (REJECT, CHECK):
        parts.append(f"{outcome.kind}: " + ("; ".join(outcome.reasons) or "your call"))
    if outcome.notes:
        parts.append("notes: " + "; ".join(outcome.notes))
    return " · ".join(parts)


def photo_fields(card: PhotoCard, options: ExportOptions) -> XmpFields:
    """Everything Eye Spy writes about one judged photo."""
    rating, label = sidecar_values(card, options)
    return XmpFields(rating=rating, label=label, keywords=tuple(photo_keywords(card, options)),
                     description=photo_description(card))


def sidecar_bytes(*, rating: int, label: str, metadata_date: datetime | None = None,
                  keywords: list[str] | None = None, description: str = "") -> bytes:
    """A new XMP packet. MetadataDate tells Lightroom the file's metadata is newer than its catalog.
    `keywords` ("Eye Spy|blink") go to lr:hierarchicalSubject, their last part to dc:subject, where
    Lightroom, Capture One and Bridge read keywords (a reject must survive as a keyword: Lightroom keeps
    pick/reject flags in its catalog only)."""
    fields = XmpFields(rating=rating, label=label, keywords=tuple(keywords or ()), description=description)
    return merge(None, fields, now=metadata_date)[0]


def _sidecars(cards: Iterable[PhotoCard], options: ExportOptions):
    names = UniqueNames()
    now = datetime.now(timezone.utc)
    for card in cards:
        if card.unreadable:
            continue  # no verdict, nothing to say about it
        data = merge(None, photo_fields(card, options), now=now)[0]
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
