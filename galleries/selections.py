"""The guest's writes (enter, heart, comment, download, submit) and the photographer's reopen / seen.

Entering with an email that already has a selection in the gallery resumes it (one selection per guest);
entries and notes are bounded by guest_limits.

Every write appends a SelectionItem (never an update or a delete), inside a transaction that first locks
the selection row, so two quick taps can't both squeeze past the favourites limit. A submitted selection
is locked until the photographer reopens it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from eyespy_site.errors import AppError
from sessions_app.login_throttle import retry_message
from sessions_app.models import Gallery, GalleryPhoto, Selection, SelectionItem

from . import guest_limits, guest_text, notify, selectors

logger = logging.getLogger(__name__)

A = SelectionItem.Action
COMMENT_MAX_CHARS = 1000
NAME_MAX_CHARS = Selection._meta.get_field("name").max_length
HISTORY_MAX = 5000  # actions per guest: far above any real use, bounds what a script can pile up


class SelectionError(AppError):
    """A guest action that can't be done; `reason` is shown to the guest as is."""


class GuestLimitError(SelectionError):
    """Over one of guest_limits' bounds (answered 429); `retry_after` > 0 when waiting that long helps."""

    def __init__(self, reason: str, *, retry_after: int = 0) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True)
class PickResult:
    favourite: bool
    count: int
    max_picks: int | None
    min_picks: int


def limit_message(gallery: Gallery) -> str:
    n = gallery.max_picks
    return (f"Your package includes {n} favourite{'' if n == 1 else 's'}. "
            "Remove a heart first to choose this one instead.")


def selection_enter(*, gallery: Gallery, name: str, email: str, client_ip: str | None = None) -> Selection:
    """A guest comes in with a name and email (cleaned: see guest_text).

    The same email again on the same gallery (another device, cookies cleared) resumes that guest's
    selection as it is (name, hearts, notes, sent and locked or not) instead of starting a second one:
    the photographer gets one selection per person, and a sent selection can't be sent again under the
    same email. Entries count against guest_limits (per client address, and guests per gallery).
    """
    name = guest_text.one_line(name, max_length=NAME_MAX_CHARS)
    email = guest_text.email_address(email)
    if not name or not email:
        raise SelectionError("Please give your name and email.")
    try:
        validate_email(email)
    except ValidationError:
        raise SelectionError("Please check your email address.") from None
    wait = guest_limits.consume(guest_limits.ENTRIES_PER_ADDRESS, f"{gallery.pk}:{client_ip or 'unknown'}")
    if wait:
        raise GuestLimitError(retry_message(wait, what="entries to this gallery from your address"),
                              retry_after=wait)
    return _selection_for_email(gallery=gallery, name=name, email=email)


@transaction.atomic
def _selection_for_email(*, gallery: Gallery, name: str, email: str) -> Selection:
    # The gallery row is locked first: two entries at once can't both create a selection for one email,
    # nor both take the last guest place.
    Gallery.objects.select_for_update().only("pk").get(pk=gallery.pk)
    existing = gallery.selections.filter(email__iexact=email).order_by("created_at", "id").first()
    if existing is not None:
        logger.info("guest re-entered gallery %s: selection %s resumed", gallery.pk, existing.pk)
        return existing
    if gallery.selections.count() >= guest_limits.GUESTS_MAX:
        raise GuestLimitError(f"This gallery has room for {guest_limits.GUESTS_MAX} guests and they have all "
                              "come in. Please ask your photographer.")
    return Selection.objects.create(gallery=gallery, name=name, email=email)


def _locked(selection: Selection) -> Selection:
    """The selection row, locked for this transaction, refusing changes once it has been sent."""
    fresh = Selection.objects.select_for_update().select_related("gallery").get(pk=selection.pk)
    if fresh.is_submitted:
        raise SelectionError("You have sent your selection, so it can't be changed. Ask your photographer "
                             "to reopen it if you'd like to change something.")
    if fresh.items.count() >= HISTORY_MAX:
        raise SelectionError("This selection has too many changes; please contact your photographer.")
    return fresh


def _check_item(selection: Selection, item: GalleryPhoto) -> None:
    if item.gallery_id != selection.gallery_id:  # the views only look items up in the guest's gallery
        raise SelectionError("That photo is not in this gallery.")


@transaction.atomic
def selection_set_favourite(*, selection: Selection, item: GalleryPhoto, favourite: bool) -> PickResult:
    """Heart (or un-heart) a photo. Over the gallery's maximum, the heart is refused with the reason."""
    _check_item(selection, item)
    fresh = _locked(selection)
    gallery = fresh.gallery
    choices = selectors.selection_choices(selection=fresh)
    count = selectors.pick_count(choices)
    current = choices.get(item.id, selectors.Choice()).favourite
    if favourite != current:
        if favourite and gallery.max_picks is not None and count >= gallery.max_picks:
            raise SelectionError(limit_message(gallery))
        SelectionItem.objects.create(selection=fresh, gallery_photo=item,
                                     action=A.FAVOURITE if favourite else A.UNFAVOURITE)
        count += 1 if favourite else -1
    return PickResult(favourite=favourite, count=count, max_picks=gallery.max_picks, min_picks=gallery.min_picks)


@transaction.atomic
def selection_comment(*, selection: Selection, item: GalleryPhoto, text: str) -> str:
    """Set the guest's note on a photo (a new row when it changed), within guest_limits' bounds."""
    _check_item(selection, item)
    wait = guest_limits.consume(guest_limits.COMMENTS_PER_SELECTION, str(selection.pk))
    if wait:
        raise GuestLimitError(retry_message(wait, what="notes in a short time"), retry_after=wait)
    fresh = _locked(selection)
    if not fresh.gallery.comments_enabled:
        raise SelectionError("Comments are turned off for this gallery.")
    text = guest_text.multi_line(text, max_length=COMMENT_MAX_CHARS)
    current = selectors.selection_choices(selection=fresh).get(item.id, selectors.Choice()).comment
    if text != current:
        if fresh.items.filter(action=A.COMMENT).count() >= guest_limits.COMMENTS_MAX:
            raise GuestLimitError("Your notes have reached the most this selection can hold. Please write "
                                  "to your photographer about the rest.")
        SelectionItem.objects.create(selection=fresh, gallery_photo=item, action=A.COMMENT, comment=text)
    return text


@transaction.atomic
def selection_submit(*, selection: Selection) -> Selection:
    """Send the selection: locked from now on; the photographer gets an email and a badge."""
    fresh = _locked(selection)
    gallery = fresh.gallery
    count = selectors.pick_count(selectors.selection_choices(selection=fresh))
    if count < max(1, gallery.min_picks):
        need = max(1, gallery.min_picks)
        raise SelectionError(f"Choose at least {need} favourite{'' if need == 1 else 's'} before sending.")
    if gallery.max_picks is not None and count > gallery.max_picks:
        raise SelectionError(limit_message(gallery))
    fresh.submitted_at = timezone.now()
    fresh.save(update_fields=["submitted_at", "updated_at"])
    selection_id = fresh.id
    transaction.on_commit(lambda: notify.send_selection_submitted(selection_id=selection_id), robust=True)
    logger.info("selection %s submitted with %d favourites", fresh.pk, count)
    return fresh


def selection_reopen(*, selection: Selection) -> Selection:
    """The photographer lets the guest change a sent selection (their picks stay as they were)."""
    Selection.objects.filter(pk=selection.pk).update(submitted_at=None, notify_error="", updated_at=timezone.now())
    selection.refresh_from_db()
    return selection


def selection_mark_seen(*, selection: Selection) -> None:
    Selection.objects.filter(pk=selection.pk).update(seen_at=timezone.now())


@transaction.atomic
def download_record(*, selection: Selection, item: GalleryPhoto) -> None:
    """Count a download against the gallery's quota (a photo downloaded before is free). Raises when used up."""
    _check_item(selection, item)
    gallery = Gallery.objects.select_for_update().get(pk=selection.gallery_id)  # one quota for all guests
    if gallery.downloads == Gallery.Downloads.OFF or gallery.watermark_text:
        raise SelectionError("Downloads are not available in this gallery.")
    done_before = SelectionItem.objects.filter(selection__gallery=gallery, gallery_photo=item,
                                               action=A.DOWNLOAD).exists()
    if (not done_before and gallery.download_quota is not None
            and selectors.downloads_used(gallery=gallery) >= gallery.download_quota):
        raise SelectionError(f"All {gallery.download_quota} downloads of this gallery have been used.")
    SelectionItem.objects.create(selection=selection, gallery_photo=item, action=A.DOWNLOAD)
