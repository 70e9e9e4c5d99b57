"""`{% photo_url 'sessions:photo_correct' uuid %}`: reverse() for the per-photo URLs a review page renders
thousands of times (a 600-photo review has ~8 per card). Each URL name is reversed once per process with
placeholder arguments and then filled in, which gives the same string as `{% url %}` at a fraction of its cost.
"""
from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

from django import template
from django.urls import get_script_prefix, reverse

register = template.Library()

_UUID = "00000000-0000-4000-8000-0000000f00d0"
# What reverse() leaves unquoted in a path argument (django.urls.resolvers).
_SAFE = "!$&'()*+,;=/~:@"


def _placeholder(i: int, is_int: bool) -> str:
    return str(918273640 + i) if is_int else f"zzarg{i}zz"


@lru_cache(maxsize=64)
def _pattern(name: str, prefix: str, kinds: tuple[bool, ...]) -> str:
    return reverse(name, args=[_UUID, *(_placeholder(i, is_int) for i, is_int in enumerate(kinds))])


@register.simple_tag
def photo_url(name: str, photo_uuid, *args) -> str:
    kinds = tuple(isinstance(a, int) for a in args)
    url = _pattern(name, get_script_prefix(), kinds).replace(_UUID, str(photo_uuid))
    for i, (value, is_int) in enumerate(zip(args, kinds)):
        url = url.replace(_placeholder(i, is_int), quote(str(value), safe=_SAFE), 1)
    return url
