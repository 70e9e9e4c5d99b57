"""Reads for galleries.

Photographer reads take `owner=` and 404 for anyone else's gallery (like sessions_app.selectors).
Guest reads take a gallery already resolved from an open token (`access.gallery_get_open`) and a guest's
own selection: nothing here hands a guest another gallery's photos or another guest's picks.

A selection's picks and comments are the fold of its append-only SelectionItems (`fold`).
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.text import slugify

from review import selectors as review_selectors
from review.exports import keepers
from sessions_app.models import (
    Gallery,
    GalleryPhoto,
    Photo,
    PhotoSession,
    Selection,
    SelectionItem,
    User,
)
from sessions_app.selectors import as_uuid

from . import previews

A = SelectionItem.Action


# --- Folding a selection's history ------------------------------------------------------------------------


@dataclass
class Choice:
    favourite: bool = False
    comment: str = ""
    downloaded: bool = False


def fold(items: Iterable[SelectionItem]) -> dict[int, Choice]:
    """gallery photo id -> the guest's current choice, from items in id order."""
    out: dict[int, Choice] = {}
    for item in items:
        choice = out.setdefault(item.gallery_photo_id, Choice())
        if item.action == A.FAVOURITE:
            choice.favourite = True
        elif item.action == A.UNFAVOURITE:
            choice.favourite = False
        elif item.action == A.COMMENT:
            choice.comment = item.comment
        elif item.action == A.DOWNLOAD:
            choice.downloaded = True
    return out


def selection_choices(*, selection: Selection) -> dict[int, Choice]:
    # selection_id too: the related manager sets it on each row, and a deferred one costs a query per row.
    return fold(selection.items.order_by("id").only("selection_id", "gallery_photo_id", "action", "comment"))


def pick_count(choices: dict[int, Choice]) -> int:
    return sum(1 for c in choices.values() if c.favourite)


# --- Photographer: galleries ---------------------------------------------------------------------------


def gallery_list(*, owner: User, session: PhotoSession | None = None) -> QuerySet[Gallery]:
    """The owner's galleries, newest first, with photo_count, guest_count and submitted_count."""
    qs = Gallery.objects.filter(session__owner=owner).select_related("session")
    if session is not None:
        qs = qs.filter(session=session)
    return qs.annotate(
        photo_count=Count("items", distinct=True),
        guest_count=Count("selections", distinct=True),
        submitted_count=Count("selections", filter=Q(selections__submitted_at__isnull=False), distinct=True),
    ).order_by("-created_at")


def gallery_get_for_owner(*, owner: User, gallery_uuid: uuid.UUID | str) -> Gallery:
    qs = Gallery.objects.select_related("session", "session__owner", "session__client", "cover")
    return get_object_or_404(qs, session__owner=owner, uuid=as_uuid(gallery_uuid))


def selection_get_for_owner(*, owner: User, gallery: Gallery, selection_uuid: uuid.UUID | str) -> Selection:
    return get_object_or_404(Selection, gallery=gallery, gallery__session__owner=owner, uuid=as_uuid(selection_uuid))


def unseen_submissions_count(*, owner: User) -> int:
    """Submitted selections the photographer hasn't opened since: the nav badge."""
    from django.db.models import F

    return Selection.objects.filter(gallery__session__owner=owner, submitted_at__isnull=False).filter(
        Q(seen_at__isnull=True) | Q(seen_at__lt=F("submitted_at"))).count()


def gallery_items(*, gallery: Gallery) -> list[GalleryPhoto]:
    return list(gallery.items.select_related("photo").order_by("position", "id"))


def preview_progress(*, gallery: Gallery) -> tuple[int, int]:
    """(photos whose previews are ready for the gallery's current key, all photos)."""
    key = previews.preview_key(gallery.watermark_text)
    counts = gallery.items.aggregate(
        ready=Count("id", filter=Q(preview_key=key, preview_status=GalleryPhoto.PreviewStatus.READY)),
        total=Count("id"))
    return counts["ready"], counts["total"]


@dataclass(frozen=True)
class GallerySources:
    """What a new gallery can start from: every readable photo, or the keepers among them."""

    all: list[Photo]
    keepers: list[Photo]


def session_gallery_sources(*, session: PhotoSession) -> GallerySources:
    """The keepers use the keepers export's rule (`review.exports.keepers`: not rejected, and photos still
    to check left out: a client never sees an unresolved blink as a pick). Only processed photos qualify:
    a gallery never shows a file that couldn't be read."""
    cards = [c for c in review_selectors.session_cards(session=session)
             if not c.unreadable and c.photo.status == Photo.Status.DONE]
    return GallerySources(all=[c.photo for c in cards], keepers=[c.photo for c in keepers(cards)])


# --- Photographer: what the guests chose ---------------------------------------------------------------------


@dataclass
class GuestSummary:
    selection: Selection
    choices: dict[int, Choice]
    picks: list[GalleryPhoto] = field(default_factory=list)
    comments: list[tuple[GalleryPhoto, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.picks)


@dataclass
class CombinedPick:
    item: GalleryPhoto
    guests: list[Selection]
    comments: list[tuple[Selection, str]]


@dataclass
class GallerySelections:
    guests: list[GuestSummary]
    combined: list[CombinedPick]

    @property
    def combined_count(self) -> int:
        return len(self.combined)


def gallery_selections(*, gallery: Gallery, items: list[GalleryPhoto] | None = None,
                       only: Selection | None = None) -> GallerySelections:
    """Every guest's picks and comments (or one guest's with `only`), and the union of picks in gallery order."""
    items = items if items is not None else gallery_items(gallery=gallery)
    selections = list(gallery.selections.order_by("created_at", "id")) if only is None else [only]
    rows = SelectionItem.objects.filter(selection__in=selections).order_by("id").only(
        "selection_id", "gallery_photo_id", "action", "comment")
    per_selection: dict[int, list[SelectionItem]] = {s.id: [] for s in selections}
    for row in rows:
        per_selection[row.selection_id].append(row)
    guests = []
    for s in selections:
        choices = fold(per_selection[s.id])
        ordered = [i for i in items if i.id in choices]
        guests.append(GuestSummary(
            selection=s, choices=choices,
            picks=[i for i in ordered if choices[i.id].favourite],
            comments=[(i, choices[i.id].comment) for i in ordered if choices[i.id].comment]))
    combined = []
    for item in items:
        who = [g.selection for g in guests if g.choices.get(item.id, Choice()).favourite]
        said = [(g.selection, g.choices[item.id].comment) for g in guests
                if g.choices.get(item.id, Choice()).comment]
        if who:
            combined.append(CombinedPick(item=item, guests=who, comments=said))
    return GallerySelections(guests=guests, combined=combined)


# --- Guests ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicPhoto:
    """What a guest's page knows about one photo: no label, no score, no file name, no photo uuid."""

    item: GalleryPhoto
    ready: bool
    width: int | None
    height: int | None
    choice: Choice

    @property
    def key(self) -> str:
        return str(self.item.uuid)

    @property
    def srcset(self) -> list[tuple[int, int]]:
        """(size in the URL, real pixel width) per preview, for `srcset`'s width descriptors."""
        width, height = self.width or previews.WEB_SIZE, self.height or previews.WEB_SIZE
        return [(size, previews.fitted(width, height, size)[0]) for size in previews.SIZES]


def public_photos(*, gallery: Gallery, choices: dict[int, Choice]) -> list[PublicPhoto]:
    key = previews.preview_key(gallery.watermark_text)
    rows = gallery.items.order_by("position", "id").only(
        "id", "uuid", "position", "preview_key", "preview_status", "preview_width", "preview_height", "gallery_id")
    out = []
    for item in rows:
        ready = item.preview_key == key and item.preview_status == GalleryPhoto.PreviewStatus.READY
        out.append(PublicPhoto(item=item, ready=ready, width=item.preview_width, height=item.preview_height,
                               choice=choices.get(item.id, Choice())))
    return out


def public_item(*, gallery: Gallery, item_uuid: uuid.UUID | str) -> GalleryPhoto:
    """One photo of this gallery by its gallery uuid; 404 for any other (another gallery's included)."""
    qs = GalleryPhoto.objects.select_related("photo")
    return get_object_or_404(qs, gallery=gallery, uuid=as_uuid(item_uuid))


def guest_selection(*, gallery: Gallery, selection_uuid: str) -> Selection | None:
    """The guest's own selection named by their signed cookie, in this gallery only."""
    try:
        key = uuid.UUID(selection_uuid)
    except (ValueError, TypeError):
        return None
    return Selection.objects.filter(gallery=gallery, uuid=key).first()


def guest_download_name(*, gallery: Gallery, item: GalleryPhoto, original: bool) -> str:
    """The file name a guest's download gets: `<gallery-title-slug>-<n>` with n the photo's place in the
    gallery as the guest sees it (1, 2, ...), unless the gallery lets guests see file names. A web-size
    download is a JPEG whatever the original was."""
    photo = item.photo
    if gallery.guests_see_file_names:
        stem = photo.original_filename.rsplit(".", 1)[0] or "photo"
        return photo.original_filename if original else f"{stem}.jpg"
    before = gallery.items.filter(Q(position__lt=item.position) | Q(position=item.position, id__lt=item.id))
    extension = (photo.extension or ".jpg").lower() if original else ".jpg"
    return f"{slugify(gallery.title)[:60].strip('-') or 'photo'}-{before.count() + 1:03d}{extension}"


def downloads_used(*, gallery: Gallery) -> int:
    """Photos downloaded from the gallery by any guest (a photo downloaded again doesn't count twice)."""
    return (SelectionItem.objects.filter(selection__gallery=gallery, action=A.DOWNLOAD)
            .values("gallery_photo_id").distinct().count())
