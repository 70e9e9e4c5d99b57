"""The gallery's emails, through Django's mail backend (console locally, SMTP in production).

The client gets the link; the photographer learns a guest has sent a selection (also shown in the app
as a badge on "Galleries"). A mail that can't be sent is never an error page for the guest: the link's
failure is a message to the photographer who pressed "send", the submission's is logged and shown next
to that selection on the photographer's gallery page.
"""
from __future__ import annotations

import logging
import math

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from sessions_app.login_throttle import Limit
from sessions_app.models import Gallery, Selection

from . import guest_text

logger = logging.getLogger(__name__)


def public_url(gallery: Gallery) -> str:
    return settings.SITE_URL + reverse("gallery:home", args=[gallery.token])


# "Email the link" sends from the studio's address to any address typed in, and sign-up is open: these
# caps keep it from being a mail relay. Shown under the form (LINK_MAIL_LIMITS_TEXT).
LINK_MAILS_PER_OWNER = Limit("gallery-link-mail-owner", 20, 60 * 60)
LINK_MAILS_PER_RECIPIENT = Limit("gallery-link-mail-to", 3, 24 * 60 * 60)
LINK_MAIL_LIMITS_TEXT = (f"Up to {LINK_MAILS_PER_OWNER.attempts} link emails an hour, and "
                         f"{LINK_MAILS_PER_RECIPIENT.attempts} a day to the same address.")
SUBJECT_TITLE_CHARS = 60
NOTE_MAX_CHARS = 1000


def link_mail_counters(*, owner_id: int, to: str) -> list[tuple[Limit, str]]:
    return [(LINK_MAILS_PER_OWNER, str(owner_id)), (LINK_MAILS_PER_RECIPIENT, f"{owner_id}|{to.strip().lower()}")]


def link_mail_refusal(wait_s: int) -> str:
    minutes = max(1, math.ceil(wait_s / 60))
    when = f"{minutes} minute{'' if minutes == 1 else 's'}" if minutes < 90 else f"{math.ceil(minutes / 60)} hours"
    return (f"Not sent: {LINK_MAIL_LIMITS_TEXT} Try again in {when}, "
            "or copy the link and send it yourself.")


def link_mail_subject(gallery: Gallery) -> str:
    title = " ".join(gallery.title.split())  # no line breaks in a header
    if len(title) > SUBJECT_TITLE_CHARS:
        title = title[:SUBJECT_TITLE_CHARS - 1].rstrip() + "…"
    return f"Your photos: {title}"


def send_gallery_link(*, gallery: Gallery, to: str, note: str = "") -> None:
    owner = gallery.session.owner
    context = {"gallery": gallery, "url": public_url(gallery), "note": note.strip()[:NOTE_MAX_CHARS],
               "studio": owner.public_name or "Your photographer"}
    send_mail(
        subject=link_mail_subject(gallery),
        message=render_to_string("galleries/email_link.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[to],
        fail_silently=False,
    )


def send_selection_submitted(*, selection_id: int) -> None:
    """Tell the photographer a guest sent their selection. A failure is logged and kept on the selection
    (`notify_error`), which their gallery page shows; a later successful mail clears it."""
    selection = Selection.objects.select_related("gallery__session__owner").filter(pk=selection_id).first()
    if selection is None:
        return
    from . import selectors

    gallery = selection.gallery
    count = selectors.pick_count(selectors.selection_choices(selection=selection))
    url = settings.SITE_URL + reverse("sessions:gallery_detail", args=[gallery.uuid])
    context = {"selection": selection, "gallery": gallery, "count": count, "url": url}
    # Old rows may hold a name typed before names were cleaned: the header is cleaned here too.
    subject = guest_text.one_line(f"{selection.name} sent their selection: {gallery.title}", max_length=200)
    try:
        send_mail(
            subject=subject,
            message=render_to_string("galleries/email_submitted.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[gallery.session.owner.email],
        )
    except Exception as exc:  # noqa: BLE001 - any backend's failure (SMTP, API, a bad header) is recorded alike
        logger.warning("could not email the photographer about selection %s", selection_id, exc_info=True)
        _record_mail_result(selection, error=mail_failure_reason(exc))
    else:
        _record_mail_result(selection, error="")


def mail_failure_reason(exc: Exception) -> str:
    """A short readable line for the photographer's page."""
    detail = guest_text.one_line(str(exc), max_length=200)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _record_mail_result(selection: Selection, *, error: str) -> None:
    if selection.notify_error != error:
        Selection.objects.filter(pk=selection.pk).update(notify_error=error[:300])
