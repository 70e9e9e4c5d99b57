"""Writes of the review: corrections (append-only; undo is a new row), and decisions read back from an editor's XMP.

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
    whole_photo_decisions_create,
)
from .editor_decisions import (
    DecisionRules,
    DecisionsReport,
    EditorDecisionsError,
    editor_decisions_read,
    photographer_folder,
)

__all__ = [
    "CorrectionError",
    "DecisionRules",
    "DecisionsReport",
    "EditorDecisionsError",
    "SessionUndo",
    "correction_create",
    "correction_undo",
    "corrections_bulk_create",
    "corrections_undo",
    "decision_words",
    "editor_decisions_read",
    "photographer_folder",
    "session_undo_last",
    "whole_photo_decisions_create",
]
