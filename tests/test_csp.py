"""The Content-Security-Policy header (eyespy_site/csp.py) and templates that need nothing it forbids.

The browser test tests/browser/test_csp.py visits every page and collects real violations; this checks the
header itself and scans the templates, so an inline script or style is caught without a browser too.
"""
from __future__ import annotations

import re

import pytest

from eyespy_site import csp
from tests.conftest import ROOT


def _directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/accounts/login/", "/static/css/eyespy.css", "/no-such-page/", "/admin/login/"])
def test_every_response_carries_a_strict_policy(client, url):
    policy = _directives(client.get(url)["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]  # local storage: no other origin
    assert not [v for values in policy.values() for v in values if "unsafe" in v]


def _use_s3(settings, **options) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": "eyespy", "region_name": "us-east-1", "access_key": "k", "secret_key": "s",
                        "querystring_auth": True, "signature_version": "s3v4", **options},
        },
    }


def test_images_may_come_from_the_signed_url_origin_on_s3(settings):
    _use_s3(settings, endpoint_url="https://minio.example.com:9000")  # signing is local: no server needed
    assert csp.storage_origin() == "https://minio.example.com:9000"
    assert _directives(csp.policy_header())["img-src"] == ["'self'", "data:", "https://minio.example.com:9000"]

    _use_s3(settings, custom_domain="photos-cdn.example.com")
    assert csp.storage_origin() == "https://photos-cdn.example.com"


def test_templates_have_no_inline_script_style_or_handlers():
    offenders = []
    pattern = re.compile(r"""\sstyle=|<style\b|<script(?![^>]*\ssrc=)|\son[a-z]+=|javascript:|\[document\.""", re.I)
    for path in (ROOT / "templates").rglob("*.html"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert offenders == []
