"""Every page under the strict Content-Security-Policy, in a real browser: no violation anywhere.

Violations are collected twice: the page's own `securitypolicyviolation` events (a listener added
before any page script runs) and chromium's console ("Refused to ..."). Pages: logged out (login,
sign-up, password reset), a photographer's (dashboard, clients, sessions with live progress, review with
the lightbox opened and a correction made from the keyboard, the lightbox page, exports), and staff's
Django admin (index, every model's list, change and add pages).
"""
from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from classifier.models import Correction, ModelVersion, Prediction
from review.exports import export_create
from sessions_app.models import Client, Export, Photo, PhotoSession, User
from tests.factories import jpeg_bytes, make_client, make_photo, make_session, make_user
from tests.review_builders import BLINK, OPEN, make_judged_photo

pytestmark = pytest.mark.django_db(transaction=True)

COLLECT = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile || location.href}:${e.lineNumber}`);
});
document.addEventListener("htmx:afterSettle", () => console.debug("eyespy:settled"));
"""
SETTLED = "eyespy:settled"  # an htmx swap has settled: what the test waits on (wait_for_function's eval is refused)


def _settled(msg) -> bool:
    return msg.text == SETTLED


@pytest.fixture
def watched(strict_page):
    """The page, plus a list that gathers every CSP violation it reports."""
    page = strict_page
    page.add_init_script(COLLECT)
    found: list[str] = []
    page.on("console", lambda msg: found.append(f"console: {msg.text}")
            if "Content Security Policy" in msg.text or "Refused to" in msg.text else None)
    page.violations = found
    return page


def _visit(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status < 400, (url, response and response.status)
    assert "default-src 'self'" in response.headers.get("content-security-policy", ""), url
    page.wait_for_load_state("networkidle", timeout=45_000)  # generous: a busy 2-core CI box is slow, not broken
    _collect(page, url)


def _collect(page, where: str) -> None:
    page.violations.extend(f"{where}: {v}" for v in page.evaluate("window.__csp || []"))


def _log_in(page, base_url: str, user) -> None:
    from django.test import Client as DjangoClient

    c = DjangoClient()
    c.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": c.cookies["sessionid"].value, "url": base_url}])


def test_logged_out_pages_have_no_csp_violations(watched, server_url):
    for path in ["/accounts/login/", "/accounts/signup/", "/accounts/signup/sent/", "/accounts/password/reset/",
                 "/accounts/password/reset/sent/", "/admin/login/"]:
        _visit(watched, server_url + path)
    # A form answered with errors (the login form re-rendered) too.
    watched.goto(server_url + "/accounts/login/")
    watched.fill("input[name=username]", "nobody@example.com")
    watched.fill("input[name=password]", "wrong")
    watched.click("button[type=submit]")
    watched.wait_for_selector(".form-errors, .errorlist")
    _collect(watched, "login with errors")
    assert watched.violations == []


def test_photographer_pages_have_no_csp_violations(watched, server_url):
    alice = make_user("alice@example.com")
    client = make_client(alice, name="Ann")
    session = make_session(alice, client=client, title="Spring")
    photos = [
        make_judged_photo(session, faces=BLINK, name="A.JPG", data=jpeg_bytes(size=(600, 400), comment=b"csp a"),
                          width=600, height=400),
        make_judged_photo(session, faces=OPEN, name="B.JPG", width=600, height=400),
    ]
    make_photo(session, name="waiting.jpg")  # still queued: the progress panel polls
    export = export_create(session=session, fmt="csv", by=alice, inline=True)
    pending_export = Export.objects.create(session=session, format="keepers-zip", requested_by=alice)
    _log_in(watched, server_url, alice)

    s = session.uuid
    for path in [
        "/", "/clients/", "/clients/new/", f"/clients/{client.uuid}/", f"/clients/{client.uuid}/edit/",
        f"/clients/{client.uuid}/delete/", "/sessions/new/", f"/sessions/{s}/", f"/sessions/{s}/edit/",
        f"/sessions/{s}/delete/", f"/sessions/{s}/review/", f"/photos/{photos[0].uuid}/lightbox/",
        f"/sessions/{s}/exports/", f"/sessions/{s}/exports/{export.uuid}/", f"/sessions/{s}/exports/{pending_export.uuid}/",
        "/accounts/password/change/",
    ]:
        _visit(watched, server_url + path)

    # The session page polls its progress panel (htmx swaps it in place): let it swap at least once.
    with watched.expect_console_message(_settled, timeout=45_000):
        watched.goto(f"{server_url}/sessions/{s}/")
    _collect(watched, "progress poll")

    # Review: open the lightbox from the keyboard (its HTML arrives by fetch) and correct a photo (htmx swap).
    watched.goto(f"{server_url}/sessions/{s}/review/")
    watched.keyboard.press("ArrowRight")
    watched.keyboard.press("Enter")
    watched.wait_for_selector("#lightbox:not([hidden]) .lb-faceboxes")
    _collect(watched, "lightbox")
    watched.keyboard.press("Escape")
    watched.wait_for_selector(".photo-card")
    with watched.expect_console_message(_settled, timeout=45_000):
        with watched.expect_response(lambda r: r.request.method == "POST"):
            watched.keyboard.press("k")
    assert Correction.objects.exists()  # the answer came after the commit
    _collect(watched, "correction")
    assert watched.violations == []


def test_admin_pages_have_no_csp_violations(watched, server_url):
    staff = make_user("staff@example.com", is_staff=True, is_superuser=True)
    session = make_session(staff, client=make_client(staff))
    photo = make_judged_photo(session, faces=BLINK, name="A.JPG")
    Correction.objects.create(photo=photo, label="NOT_BLINKING", previous_label="BLINKING", created_by=staff,
                              model_version=ModelVersion.objects.get(is_live=True))
    export_create(session=session, fmt="csv", by=staff, inline=True)
    assert Prediction.objects.exists() and User.objects.exists() and Client.objects.exists()
    assert PhotoSession.objects.exists()
    _log_in(watched, server_url, staff)

    _visit(watched, server_url + "/admin/")
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        _visit(watched, server_url + reverse("admin:%s_%s_changelist" % info))
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            _visit(watched, server_url + reverse("admin:%s_%s_change" % info, args=[obj.pk]))
        if model_admin.has_add_permission(_request_for(staff)):
            _visit(watched, server_url + reverse("admin:%s_%s_add" % info))
    assert watched.violations == []


def _request_for(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request
