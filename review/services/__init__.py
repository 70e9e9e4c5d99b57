"""Writes of the review: corrections (append-only; undo is a new row).

Other apps import from here only (`from review import services`); this module re-exports the public names.
"""
from .corrections import (
    CorrectionError,
    SessionUndo,
    correction_create,
    correction_undo,
    corrections_bulk_create,
    corrections_undo,
    decision_words,
    session_undo_last,
)

__all__ = [
    "CorrectionError",
    "SessionUndo",
    "correction_create",
    "correction_undo",
    "corrections_bulk_create",
    "corrections_undo",
    "decision_words",
    "session_undo_last",
]
