"""Building exports: keepers ZIP, BLINKING/NOT_BLINKING ZIP, XMP sidecars (ZIP), originals with their
metadata embedded (ZIP) and the CSV report.

`export_create` records the request and either builds it right away (small jobs) or queues
`build_export_task` on the `exports` queue. `export_run` is the job: it claims the row, writes the file
into a temporary file on local disk (never the whole thing in memory), then saves it to storage, updating
`progress` as it goes. `export_write` is the same builder aimed at a local path (the CLI).
"""
from __future__ import annotations

import io
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from eyespy_site.task_base import RETRYABLE_ERRORS
from sessions_app.models import Export, PhotoSession, User

from .. import selectors as review_selectors
from ..selectors import PhotoCard
from .csv_report import write_csv
from .embedded_zip import write_embedded_zip
from .options import ExportError, ExportOptions
from .xmp import write_xmp_folder, write_xmp_zip
from .zips import keepers, write_folders_zip, write_keepers_zip

logger = logging.getLogger(__name__)

Format = Export.Format
PROGRESS_EVERY_S = 0.5  # how often a running export writes its progress row
# Exports that only touch small files, or few originals, are built inside the request.
INLINE_FORMATS = {Format.CSV, Format.XMP}


def _suffix(fmt: str) -> str:
    return ".csv" if fmt == Format.CSV else ".zip"


def export_filename(export: Export) -> str:
    """What the download is called: '<session-title>-keepers.zip'."""
    stem = slugify(export.session.title)[:60] or "session"
    kind = {Format.KEEPERS_ZIP: "keepers", Format.FOLDERS_ZIP: "sorted", Format.XMP: "xmp", Format.CSV: "report",
            Format.EMBEDDED_ZIP: "with-metadata"}
    return f"{stem}-{kind.get(export.format, export.format)}{_suffix(export.format)}"


def planned_total(fmt: str, cards: list[PhotoCard], options: ExportOptions | None = None) -> int:
    """How many photos an export of `fmt` will write (its progress bar's 100%)."""
    if fmt == Format.CSV:
        return len(cards)
    if fmt == Format.KEEPERS_ZIP:
        return len(keepers(cards, options))
    return sum(1 for c in cards if not c.unreadable)


def _check_format(fmt: str) -> str:
    if fmt not in Format.values:
        raise ExportError(f"unknown export format {fmt!r} (use one of {', '.join(Format.values)})")
    return fmt


def write_cards(fmt: str, cards: list[PhotoCard], dest: BinaryIO, *, options: ExportOptions,
                progress: Callable[[int], None] | None = None) -> int:
    """Write one export of `cards` into the binary file `dest`. Returns how many photos went in."""
    if fmt == Format.KEEPERS_ZIP:
        return write_keepers_zip(cards, dest, progress=progress, options=options)
    if fmt == Format.FOLDERS_ZIP:
        return write_folders_zip(cards, dest, progress=progress)
    if fmt == Format.XMP:
        return write_xmp_zip(cards, dest, options=options, progress=progress)
    if fmt == Format.EMBEDDED_ZIP:
        return write_embedded_zip(cards, dest, options=options, progress=progress)
    if fmt == Format.CSV:
        # utf-8-sig: Excel opens it with the right accents; newline="" as the csv module wants.
        text = io.TextIOWrapper(dest, encoding="utf-8-sig", newline="")
        try:
            return write_csv(cards, text, progress=progress)
        finally:
            text.flush()
            text.detach()
    raise ExportError(f"unknown export format {fmt!r}")


# --- Exports in storage (the web app) ------------------------------------------------------------------


def export_create(
    *, session: PhotoSession, fmt: str, by: User | None, options: dict | None = None, inline: bool | None = None
) -> Export:
    """Record an export request and build it now (small) or in the background. Raises ExportError."""
    _check_format(fmt)
    opts = ExportOptions.from_dict(options)
    cards = review_selectors.session_cards(session=session)
    total = planned_total(fmt, cards, opts)
    if total == 0:
        what = "keepers" if fmt == Format.KEEPERS_ZIP else "judged photos"
        raise ExportError(f"there are no {what} to export yet")
    export = Export.objects.create(
        session=session, requested_by=by, format=fmt, options=opts.to_dict(), total=total
    )
    if inline is None:
        inline = fmt in INLINE_FORMATS or total <= settings.EYESPY_EXPORT_INLINE_MAX_PHOTOS
    if inline:
        export_run(export_id=export.id, cards=cards)
        export.refresh_from_db()
    else:
        from review.tasks import build_export_task

        export_id = export.id
        transaction.on_commit(lambda: build_export_task.delay(export_id))
    return export


def _claim(export_id: int) -> bool:
    return bool(
        Export.objects.filter(id=export_id, status=Export.Status.QUEUED).update(
            status=Export.Status.RUNNING, progress=0, error="", updated_at=timezone.now()
        )
    )


class _Progress:
    """Writes progress to the Export row at most every PROGRESS_EVERY_S seconds."""

    def __init__(self, export_id: int) -> None:
        self.export_id = export_id
        self.last = 0.0

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY_S:
            self.last = now
            Export.objects.filter(id=self.export_id).update(progress=done, updated_at=timezone.now())


def export_run(*, export_id: int, cards: list[PhotoCard] | None = None) -> None:
    """Build a queued export into storage. Idempotent: a row already claimed or finished is left alone.

    `cards`: the session's cards when the caller (an inline export) has just read them; else read here.

    A bad export (nothing left to write, a file gone from storage) ends as FAILED with its reason;
    transient database errors are re-raised after putting the row back to QUEUED so a retry can claim it.
    """
    if not _claim(export_id):
        logger.info("export %s already claimed or finished", export_id)
        return
    export = Export.objects.select_related("session").get(id=export_id)
    try:
        options = ExportOptions.from_dict(export.options)
        if cards is None:
            cards = review_selectors.session_cards(session=export.session)
        total = planned_total(export.format, cards, options)
        Export.objects.filter(id=export_id).update(total=total)
        # On local disk, not in memory: a 600 x 10 MB session is 6 GB.
        with tempfile.TemporaryFile(dir=settings.EYESPY_EXPORT_TMP_DIR) as tmp:
            written = write_cards(export.format, cards, tmp, options=options, progress=_Progress(export_id))
            tmp.seek(0)
            # Slow storage I/O (S3 upload) happens outside any transaction.
            name = export_filename(export)
            export.file.save(name, File(tmp, name=name), save=False)
    except RETRYABLE_ERRORS:
        # A transient storage or database error (socket errors are OSErrors too): back to QUEUED so the
        # task's retry can claim it again, instead of failing a good export.
        Export.objects.filter(id=export_id).update(status=Export.Status.QUEUED, updated_at=timezone.now())
        raise
    except (ExportError, OSError, ValueError) as exc:
        if isinstance(exc, ExportError):
            reason = exc.reason
        elif isinstance(exc, OSError) and exc.strerror:
            reason = f"could not write the export ({exc.strerror})"  # no server paths in the message
        else:
            reason = f"could not write the export ({type(exc).__name__}: {exc})"
        logger.warning("export %s failed: %s", export_id, reason, exc_info=not isinstance(exc, ExportError))
        Export.objects.filter(id=export_id).update(status=Export.Status.FAILED, error=reason[:2000],
                                                   updated_at=timezone.now())
        return
    except Exception:
        Export.objects.filter(id=export_id).update(status=Export.Status.QUEUED, updated_at=timezone.now())
        raise
    Export.objects.filter(id=export_id).update(
        status=Export.Status.DONE, progress=written, total=written, file=export.file.name, updated_at=timezone.now()
    )
    logger.info("export %s done: %d photos, %s", export_id, written, export.file.name)


def export_fail(*, export_id: int, reason: str) -> None:
    """Final failure of the task (retries exhausted, time limit): the page stops polling and says why."""
    Export.objects.filter(id=export_id).exclude(status=Export.Status.DONE).update(
        status=Export.Status.FAILED, error=reason[:2000], updated_at=timezone.now()
    )


# --- Exports to a local path (the CLI) -------------------------------------------------------------------


def export_write(
    *, session: PhotoSession, fmt: str, out: str | os.PathLike, options: dict | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Path, int]:
    """Write an export straight to `out`: a file for ZIP/CSV, a folder of sidecars for XMP.

    Returns (path written, photos written). Raises ExportError with a readable reason.
    """
    _check_format(fmt)
    opts = ExportOptions.from_dict(options)
    cards = review_selectors.session_cards(session=session)
    path = Path(out)
    if fmt == Format.XMP:
        if path.exists() and not path.is_dir():
            raise ExportError(f"{path} is a file; for xmp give a folder to put the sidecars in")
        return path, len(write_xmp_folder(cards, path, options=opts, progress=progress))
    if path.is_dir():
        path = path / export_filename(Export(session=session, format=fmt))
    if not path.parent.is_dir():
        raise ExportError(f"folder {path.parent} does not exist")
    partial = path.with_name(path.name + ".part")
    try:
        with partial.open("wb") as fh:
            written = write_cards(fmt, cards, fh, options=opts, progress=progress)
        partial.replace(path)  # a half-written export never sits under the final name
    finally:
        partial.unlink(missing_ok=True)
    return path, written
