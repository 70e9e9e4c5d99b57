"""A strict Content-Security-Policy on every response (MIDDLEWARE, before WhiteNoise so static files get it too).

Why strict: the pages use no inline script or style and no eval (templates keep dynamic sizes in classes
and SVG attributes; behaviour lives in static/js), so an injected <script> or style="" runs nowhere.

Images may also come from the storage's own origin: on S3 the media views redirect to short-lived signed
URLs there, and upload.js sends files straight to the bucket (connect-src). The origin is asked of the storage itself (a signed URL is computed locally, no request), so an
AWS_S3_ENDPOINT_URL, a custom domain or a regional host are all covered.
"""
from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from django.core.files.storage import default_storage

BASE_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],  # data: for the inline SVG favicon
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'none'"],
    "object-src": ["'none'"],
}


def storage_origin() -> str | None:
    """scheme://host[:port] of the URLs the default storage hands out, or None for local storage (no URLs)."""
    try:
        url = default_storage.url("csp-origin-probe")
    except (NotImplementedError, ValueError, TypeError):
        return None
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


@lru_cache(maxsize=8)
def _header(origin: str | None) -> str:
    policy = {key: list(values) for key, values in BASE_POLICY.items()}
    if origin:
        policy["img-src"].append(origin)
        policy["connect-src"].append(origin)
    return "; ".join(f"{key} {' '.join(values)}" for key, values in policy.items())


def policy_header() -> str:
    return _header(storage_origin())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", policy_header())
        return response
