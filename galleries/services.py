"""The photographer's writes on galleries: create, arrange, options, password, revoke/re-open, email the link.

Bad input raises ValidationError (a dict keyed by form field where there is one). Previews are queued
after the commit whenever a gallery needs new ones (new photos, another watermark).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from review.exports.options import COLOUR_LABELS, RATING_MAX, RATING_MIN
from sessions_app import login_throttle
from sessions_app.models import Gallery, GalleryPhoto, Photo, PhotoSession

from . import access, notify

logger = logging.getLogger(__name__)

SOURCE_KEEPERS, SOURCE_ALL, SOURCE_PICKED = "keepers", "all", "picked"
SOURCES = {SOURCE_KEEPERS: "The keepers (not blinking)", SOURCE_ALL: "Every photo",
           SOURCE_PICKED: "Photos I pick"}
OPTION_FIELDS = ("title", "message", "expires_at", "watermark_text", "downloads", "download_quota", "min_picks",
                 "max_picks", "comments_enabled", "pick_label", "pick_rating", "client_email", "guests_see_file_names")


def gallery_previews_enqueue(*, gallery: Gallery) -> None:
    """Send the preview job after the commit (tests replace this to build in-process)."""
    from .tasks import build_gallery_previews_task

    gallery_id = gallery.id
    transaction.on_commit(lambda: build_gallery_previews_task.delay(gallery_id), robust=True)


def _clean_options(values: dict) -> dict:
    out = {k: values[k] for k in OPTION_FIELDS if k in values}
    if "title" in out:
        out["title"] = (out["title"] or "").strip()
        if not out["title"]:
            raise ValidationError({"title": "Give the gallery a title."})
    out["watermark_text"] = (out.get("watermark_text") or "").strip()
    downloads = out.get("downloads") or Gallery.Downloads.OFF
    if downloads not in Gallery.Downloads.values:
        raise ValidationError({"downloads": "Unknown download option."})
    if out["watermark_text"] and downloads != Gallery.Downloads.OFF:
        # The watermark protects nothing if the clean file can be downloaded beside it.
        raise ValidationError({"downloads": "With a watermark, downloads stay off (the originals are never "
                                            "shown unwatermarked)."})
    out["downloads"] = downloads
    min_picks, max_picks = out.get("min_picks") or 0, out.get("max_picks")
    if max_picks is not None and max_picks < min_picks:
        raise ValidationError({"max_picks": "The most favourites can't be fewer than the fewest."})
    if max_picks == 0:
        raise ValidationError({"max_picks": "Leave it empty for no limit, or allow at least one favourite."})
    out["min_picks"] = min_picks
    if out.get("pick_label", "") not in ("", *COLOUR_LABELS):
        raise ValidationError({"pick_label": f"Use one of {', '.join(COLOUR_LABELS)} or none."})
    rating = out.get("pick_rating", 0) or 0
    if not RATING_MIN <= rating <= RATING_MAX:
        raise ValidationError({"pick_rating": f"A rating from {RATING_MIN} to {RATING_MAX}."})
    out["pick_rating"] = rating
    if downloads == Gallery.Downloads.OFF:
        out["download_quota"] = None
    out["message"] = (out.get("message") or "").strip()
    return out


def _add_photos(gallery: Gallery, photos: Sequence[Photo], start: int = 0) -> int:
    rows = [GalleryPhoto(gallery=gallery, photo=p, position=start + i) for i, p in enumerate(photos)]
    GalleryPhoto.objects.bulk_create(rows, ignore_conflicts=True)  # a photo already in the gallery stays once
    return len(rows)


def gallery_create(
    *, session: PhotoSession, photos: Sequence[Photo], password: str = "", **options
) -> Gallery:
    """A gallery of `photos` (in that order) from `session`, its previews queued. Raises ValidationError."""
    if not photos:
        raise ValidationError("There are no photos for this gallery yet (only processed photos can be shown).")
    if any(p.session_id != session.id or p.status != Photo.Status.DONE for p in photos):
        raise ValidationError("Only this session's processed photos can go in its gallery.")
    values = _clean_options({"title": options.pop("title", "") or session.title, **options})
    if not values.get("client_email") and session.client_id and session.client.email:
        values["client_email"] = session.client.email
    for _ in range(3):
        try:
            with transaction.atomic():
                gallery = Gallery.objects.create(session=session, token=access.new_token(),
                                                 password_hash=access.hash_password(password), **values)
                _add_photos(gallery, photos)
                gallery.cover = gallery.items.order_by("position").first()
                gallery.save(update_fields=["cover"])
                gallery_previews_enqueue(gallery=gallery)
            break
        except IntegrityError:  # a token collision: 2^-256, but never a 500
            logger.warning("gallery token collision; trying another")
    else:
        raise ValidationError("Could not create the gallery; try again.")
    logger.info("gallery %s created with %d photos", gallery.pk, len(photos))
    return gallery


@transaction.atomic
def gallery_update(*, gallery: Gallery, password: str = "", remove_password: bool = False, **options) -> Gallery:
    """Change a gallery's options (those not given keep their value). A new watermark queues new previews;
    the old ones are never served for it."""
    current = {name: getattr(gallery, name) for name in OPTION_FIELDS}
    values = _clean_options({**current, **options})
    old_watermark = gallery.watermark_text
    for name, value in values.items():
        setattr(gallery, name, value)
    fields = list(values)
    if remove_password:
        gallery.password_hash = ""
        fields.append("password_hash")
    elif password:
        gallery.password_hash = access.hash_password(password)
        fields.append("password_hash")
    gallery.save(update_fields=[*fields, "updated_at"])
    if gallery.watermark_text != old_watermark:
        gallery.items.update(preview_status=GalleryPhoto.PreviewStatus.PENDING)
        gallery_previews_enqueue(gallery=gallery)
    return gallery


@transaction.atomic
def gallery_arrange(*, gallery: Gallery, order: Sequence[str], cover: str | None = None) -> None:
    """Put the gallery's photos in `order` (gallery photo uuids; any left out keep their order after
    them) and optionally make one the cover. Uuids of other galleries' photos are refused."""
    items = {str(i.uuid): i for i in gallery.items.all()}
    wanted = []
    for key in order:
        key = str(key)
        if key not in items:
            raise ValidationError("That photo is not in this gallery.")
        if key not in wanted:
            wanted.append(key)
    rest = [k for k, _ in sorted(items.items(), key=lambda kv: (kv[1].position, kv[1].id)) if k not in wanted]
    for position, key in enumerate([*wanted, *rest]):
        item = items[key]
        if item.position != position:
            item.position = position
            item.save(update_fields=["position"])
    if cover:
        if str(cover) not in items:
            raise ValidationError("That photo is not in this gallery.")
        gallery.cover = items[str(cover)]
        gallery.save(update_fields=["cover", "updated_at"])


@transaction.atomic
def gallery_add_photos(*, gallery: Gallery, photos: Sequence[Photo]) -> int:
    photos = [p for p in photos if p.session_id == gallery.session_id and p.status == Photo.Status.DONE]
    start = (gallery.items.aggregate(m=Max("position"))["m"] or 0) + 1
    added = _add_photos(gallery, photos, start)
    gallery_previews_enqueue(gallery=gallery)
    return added


def gallery_revoke(*, gallery: Gallery) -> Gallery:
    """The link stops working at once (every page and photo); re-open brings it back unchanged."""
    Gallery.objects.filter(pk=gallery.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    gallery.refresh_from_db(fields=["revoked_at"])
    return gallery


def gallery_reopen(*, gallery: Gallery, expires_at: datetime | None | bool = False) -> Gallery:
    """Undo a revoke; an expired gallery gets its expiry cleared (or moved to `expires_at`)."""
    gallery.revoked_at = None
    fields = ["revoked_at", "updated_at"]
    if expires_at is not False or gallery.is_expired:
        gallery.expires_at = None if expires_at is False else expires_at
        fields.append("expires_at")
    gallery.save(update_fields=fields)
    return gallery


def gallery_send_link(*, gallery: Gallery, to: str, note: str = "") -> None:
    """Email the link through Django's mail backend (console locally, SMTP in production).

    Counted before it goes out (notify.LINK_MAILS_PER_OWNER, LINK_MAILS_PER_RECIPIENT): sign-up is open,
    so without a cap anyone could use the studio's From address as a mail relay. A mail that fails is
    given back."""
    to = (to or "").strip()
    if not to:
        raise ValidationError({"to": "Whom should the link go to?"})
    counted = notify.link_mail_counters(owner_id=gallery.session.owner_id, to=to)
    wait = login_throttle.admit(counted)
    if wait:
        raise ValidationError(notify.link_mail_refusal(wait))
    try:
        notify.send_gallery_link(gallery=gallery, to=to, note=note)
    except OSError as exc:  # smtplib's errors are OSErrors too
        for limit, ident in counted:
            login_throttle.give_back(limit, ident)
        logger.warning("could not email gallery %s: %s", gallery.pk, exc)
        raise ValidationError("The email could not be sent; check the mail settings, or copy the link instead.") from exc
    if not gallery.client_email:
        gallery.client_email = to
        gallery.save(update_fields=["client_email", "updated_at"])