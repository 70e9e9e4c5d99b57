"""Template helpers that keep sizes and positions out of style="" attributes (the CSP allows no inline style).

Progress bars use one of 21 width classes (0 %, 5 % … 100 %, in static/css/eyespy.css); face boxes are
SVG shapes whose position is plain SVG geometry (x/y/width/height attributes), not CSS.
"""
from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def width_step(percent) -> int:
    """0-100 -> 0-20, the step of the `w-N` progress class (N × 5 %)."""
    try:
        value = float(percent)
    except (TypeError, ValueError):
        return 0
    return max(0, min(20, round(value / 5)))


@register.filter
def percent(share) -> str:
    """0-1 -> "79 %": agreement reads the same on every page (the review says percent too)."""
    try:
        return f"{round(100 * float(share))} %"
    except (TypeError, ValueError):
        return "–"


@register.simple_tag
def face_box(face) -> dict | None:
    """The face's box as percentages of the photo, {x, y, w, h} formatted for SVG; None when unknown."""
    try:
        x0, y0, x1, y1 = (float(face.box[k]) for k in ("x0", "y0", "x1", "y1"))
    except (AttributeError, TypeError, KeyError, ValueError):
        return None
    return {"x": f"{100 * x0:.2f}", "y": f"{100 * y0:.2f}", "w": f"{100 * (x1 - x0):.2f}", "h": f"{100 * (y1 - y0):.2f}"}


@register.filter
def zoom_eyes(card, face) -> str:
    """`{{ card|zoom_eyes:face }}`: the face's eye centres in its 100 % crop (PhotoCard.zoom_eyes)."""
    return card.zoom_eyes(face)
