"""Builders for gallery tests: a judged session, a gallery made through the service, guests entering it."""
from __future__ import annotations

from django.test import Client as WebClient

from galleries import services as gallery_services
from galleries.previews import gallery_previews_build
from sessions_app.models import Gallery, PhotoSession
from tests.review_builders import BLINK, OPEN, make_judged_photo

GUEST_PASSWORD = "summer-wedding-24"


def judged_shoot(session: PhotoSession, *, keepers: int = 4, blinks: int = 2) -> tuple[list, list]:
    """(keeper photos, blinking photos), named KEEP_n / BLINK_n."""
    keep = [make_judged_photo(session, faces=OPEN, name=f"KEEP_{i:02d}.JPG") for i in range(keepers)]
    blink = [make_judged_photo(session, faces=BLINK, name=f"BLINK_{i:02d}.JPG") for i in range(blinks)]
    return keep, blink


def make_gallery(session: PhotoSession, photos, *, previews: bool = True, **options) -> Gallery:
    options.setdefault("title", "Smith wedding")
    gallery = gallery_services.gallery_create(session=session, photos=photos, **options)
    if previews:
        gallery_previews_build(gallery_id=gallery.id)
    return gallery


def enter(gallery: Gallery, *, name: str = "Jane", email: str = "jane@example.com",
          password: str | None = None, web: WebClient | None = None) -> WebClient:
    """A browser-less guest that has entered the gallery (and given the password when there is one)."""
    web = web or WebClient()
    data = {"name": name, "email": email}
    if gallery.has_password:
        data["password"] = GUEST_PASSWORD if password is None else password
    resp = web.post(f"/g/{gallery.token}/enter/", data)
    assert resp.status_code == 302, resp.status_code
    return web
