"""Exports of a reviewed session: keepers ZIP, BLINKING/NOT_BLINKING ZIP, XMP sidecars, CSV, Lightroom filters.

Builders (zips, xmp, csv_report, lightroom) are plain functions over `review.selectors.PhotoCard`s and a
file object; `services` puts them behind the Export row, the Celery task and the CLI.
"""
from .lightroom import KEEPERS, REJECTS, filename_filter
from .options import NAMINGS, ExportError, ExportOptions
from .services import export_create, export_fail, export_filename, export_run, export_write
from .zips import keepers, unresolved

__all__ = [
    "keepers",
    "unresolved",
    "KEEPERS",
    "NAMINGS",
    "REJECTS",
    "ExportError",
    "ExportOptions",
    "export_create",
    "export_fail",
    "export_filename",
    "export_run",
    "export_write",
    "filename_filter",
]
