"""Every URL of a namespace, for the sweeps that try each one as a stranger, a guest or a non-staff user."""
from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver


def namespace_patterns(namespace: str) -> list[tuple[str, URLPattern]]:
    """(route, pattern) for every URL in `namespace`, routes as written in the URLconf (e.g. "g/<str:token>/")."""
    out: list[tuple[str, URLPattern]] = []

    def walk(resolver: URLResolver, prefix: str, in_ns: bool) -> None:
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                walk(p, prefix + str(p.pattern), in_ns or p.namespace == namespace)
            elif in_ns:
                out.append((prefix + str(p.pattern), p))

    walk(get_resolver(), "", False)
    return out
