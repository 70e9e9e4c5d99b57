"""What a guest types, made safe to keep and to put in a mail.

A guest's name goes into the "sent their selection" mail's Subject. A line break there makes Django
refuse the whole mail (BadHeaderError), so names lose their control characters (line breaks, tabs, NUL,
Unicode line/paragraph separators) and bidi overrides, and runs of whitespace become one space. Emails
lose every control character and space. Comments keep their line breaks and tabs, nothing else of the
kind (NUL can't be stored in PostgreSQL; a bidi override would scramble the photographer's page).

Joiners (ZWJ, ZWNJ) stay: names and emoji in many scripts need them.
"""
from __future__ import annotations

import unicodedata

# LRE, RLE, PDF, LRO, RLO and the isolates LRI, RLI, FSI, PDI.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_CONTROL_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def is_control(ch: str) -> bool:
    return unicodedata.category(ch) in _CONTROL_CATEGORIES or ch in _BIDI_CONTROLS


def one_line(value: str | None, *, max_length: int) -> str:
    """A single line: control characters become spaces, whitespace runs one space, cut to `max_length`."""
    spaced = "".join(" " if is_control(ch) else ch for ch in value or "")
    return " ".join(spaced.split())[:max_length].rstrip()


def email_address(value: str | None) -> str:
    """An address as typed, without control characters or spaces, in lower case."""
    return "".join(ch for ch in value or "" if not is_control(ch) and not ch.isspace()).lower()


def multi_line(value: str | None, *, max_length: int) -> str:
    """Free text (a comment): line breaks (as \\n) and tabs kept, other control characters dropped."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    kept = "".join(ch for ch in text if ch in "\n\t" or not is_control(ch))
    return kept.strip()[:max_length].rstrip()
