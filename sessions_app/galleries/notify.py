"""The gallery's emails, through Django's mail backend (console locally, SMTP in production).

The client gets the link; the photographer learns a guest has sent a selection (also shown in the app
as a badge on "Galleries"). A mail that can't be sent is logged, never an error page for the guest.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from ..models import Gallery, Selection

logger = logging.getLogger(__name__)


def public_url(gallery: Gallery) -> str:
    return settings.SITE_URL + reverse("gallery:home", args=[gallery.token])


def send_gallery_link(*, gallery: Gallery, to: str, note: str = "") -> None:
    owner = gallery.session.owner
    context = {"gallery": gallery, "url": public_url(gallery), "note": note.strip(),
               "studio": owner.studio_name or owner.get_full_name()}
    send_mail(
        subject=f"Your photos: {gallery.title}",
        message=render_to_string("galleries/email_link.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[to],
        fail_silently=False,
    )


def send_selection_submitted(*, selection_id: int) -> None:
    selection = Selection.objects.select_related("gallery__session__owner").filter(pk=selection_id).first()
    if selection is None:
        return
    from . import selectors

    gallery = selection.gallery
    count = selectors.pick_count(selectors.selection_choices(selection=selection))
    url = settings.SITE_URL + reverse("sessions:gallery_detail", args=[gallery.uuid])
    context = {"selection": selection, "gallery": gallery, "count": count, "url": url}
    try:
        send_mail(
            subject=f"{selection.name} sent their selection: {gallery.title}",
            message=render_to_string("galleries/email_submitted.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[gallery.session.owner.email],
        )
    except OSError:
        logger.warning("could not email the photographer about selection %s", selection_id, exc_info=True)
