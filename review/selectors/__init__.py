"""Reads for the review screen and the exports: effective labels, groups, strictness previews, agreement.

Every function here takes an already owner-checked session or photo (sessions_app.selectors does that).
Nothing here writes; review.services (corrections) writes.
How a photo's effective label is decided is told in `labels`.

* `cards`   — group keys and labels (check these, blinking, not blinking, no face / unreadable); the
  PhotoCard / FaceCard / EyeCard objects the review screen and exports get.
* `labels`  — stored predictions judged at a strictness (thresholds_for), correction stacks
  (correction_stacks), building one photo's card.
* `loading` — a session's or a photo's rows read once (chosen predictions: predictions_by_photo, correction stacks).
* `groups`  — session_groups, session_cards, session_order (the lightbox's walk), sorting, strictness_preview.
* `photos`  — photo_card, photo_cards, photo_stored_faces, photo_active_corrections.
* `outcomes` — one light row per photo (group, machine verdict, confidence), the machine part cached.
* `summary` — counts and agreement without cards: session_summary, session_agreement, agreement_from_cards,
  the dashboard's cached sessions_counts / sessions_blinking_counts and the session page's session_group_counts.

Other apps import from this package (`from review import selectors`), never from its modules; the names
below are the ones they use (the learning loop reads correction stacks, `in_force` and the counted predictions).
"""
from .cards import GROUP_CHECK, VERDICT_LABELS, EyeCard, FaceCard, PhotoCard
from .groups import (
    SORT_CONFIDENCE,
    SORTS,
    Neighbours,
    session_cards,
    session_groups,
    session_neighbours,
    session_order,
    strictness_preview,
)
from .labels import correction_stacks, flag_stacks, in_force, thresholds_for
from .loading import predictions_by_photo
from .outcomes import Outcome
from .photos import photo_active_corrections, photo_card, photo_cards, photo_stored_faces
from .summary import (
    Agreement,
    GroupCounts,
    SessionSummary,
    agreement_from_cards,
    session_agreement,
    session_group_counts,
    session_summary,
    sessions_blinking_counts,
    sessions_counts,
)

__all__ = [
    "SORTS",
    "GROUP_CHECK",
    "VERDICT_LABELS",
    "SORT_CONFIDENCE",
    "Agreement",
    "GroupCounts",
    "EyeCard",
    "FaceCard",
    "PhotoCard",
    "SessionSummary",
    "agreement_from_cards",
    "correction_stacks",
    "flag_stacks",
    "in_force",
    "photo_active_corrections",
    "photo_card",
    "photo_cards",
    "photo_stored_faces",
    "predictions_by_photo",
    "session_agreement",
    "session_cards",
    "session_group_counts",
    "session_groups",
    "session_order",
    "session_neighbours",
    "Neighbours",
    "Outcome",
    "session_summary",
    "sessions_blinking_counts",
    "sessions_counts",
    "strictness_preview",
    "thresholds_for",
]
