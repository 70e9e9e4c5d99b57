"""XMP packets: build ours, or merge ours into one the photographer (or their editor) already wrote.

Merging reads the packet, changes only Eye Spy's fields and writes everything else back as it was:
xmp:Rating and xmp:Label, our keywords in lr:hierarchicalSubject and dc:subject, our line of dc:description,
xmp:MetadataDate (only when something of ours changed). Develop settings (crs:*), their keywords, their
description lines and every other namespace stay. What we wrote last time is remembered in our own
namespace (eyespy:*), so a second run replaces our old keywords and tells a rating the photographer set
(anything other than what we last wrote) from our own.

Pure Python over xml.etree: no DTDs or entities are accepted (XMP never has them), so a hostile packet fails
with a reason instead of expanding.
"""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from xml.sax.saxutils import escape, quoteattr

from eyespy_site.errors import AppError

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X = "adobe:ns:meta/"
XMP = "http://ns.adobe.com/xap/1.0/"
DC = "http://purl.org/dc/elements/1.1/"
LR = "http://ns.adobe.com/lightroom/1.0/"
XML = "http://www.w3.org/XML/1998/namespace"
EYESPY = "https://eyespy.app/ns/xmp/1.0/"
# Preferred prefixes; a packet's own prefixes win for the namespaces it declares.
KNOWN_PREFIXES = {RDF: "rdf", X: "x", XMP: "xmp", DC: "dc", LR: "lr", EYESPY: "eyespy", XML: "xml",
                  "http://ns.adobe.com/camera-raw-settings/1.0/": "crs",
                  "http://ns.adobe.com/photoshop/1.0/": "photoshop"}

ROOT_KEYWORD = "Eye Spy"  # every keyword under "Eye Spy|" is ours, whatever we remember writing
DESCRIPTION_MARK = "Eye Spy: "  # our line of dc:description starts with this
MAX_PACKET_BYTES = 4 * 1024 * 1024  # sidecars are kilobytes; anything this big is not a real one
PACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
PACKET_END = '<?xpacket end="w"?>'
_FORBIDDEN = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


class XmpError(AppError):
    """A packet we won't merge into (malformed, hostile, too big): the file is left alone, with this reason."""


@dataclass(frozen=True)
class XmpFields:
    """What Eye Spy says about one photo."""

    rating: int
    label: str  # "" = none
    keywords: tuple[str, ...] = ()  # hierarchical ("Eye Spy|reject|blink"); their last part goes to dc:subject
    description: str = ""  # our line, without the mark; "" = none


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _parse(data: bytes) -> tuple[ET.Element, dict[str, str]]:
    """The packet's root (x:xmpmeta or rdf:RDF) and its namespace prefixes (uri -> prefix)."""
    if len(data) > MAX_PACKET_BYTES:
        raise XmpError(f"its XMP is {len(data) // 1024} KB, too big to be a real packet")
    if _FORBIDDEN.search(data):
        raise XmpError("its XMP declares a DTD or entities, which XMP never has")
    prefixes: dict[str, str] = {}
    try:
        root = None
        for event, item in ET.iterparse(io.BytesIO(data), events=("start-ns", "start")):
            if event == "start-ns":
                prefix, uri = item
                prefixes.setdefault(uri, prefix)
            elif root is None:
                root = item
        assert root is not None
    except (ET.ParseError, AssertionError) as exc:
        raise XmpError(f"its XMP is not well-formed ({exc})") from None
    if root.tag not in (_q(X, "xmpmeta"), _q(RDF, "RDF")):
        raise XmpError(f"its XMP starts with <{root.tag}>, not x:xmpmeta or rdf:RDF")
    return root, prefixes


def _new_root() -> ET.Element:
    root = ET.Element(_q(X, "xmpmeta"), {_q(X, "xmptk"): "Eye Spy"})
    ET.SubElement(root, _q(RDF, "RDF"))
    return root


class _Packet:
    """The rdf:Description elements of one packet, read and changed property by property."""

    def __init__(self, root: ET.Element) -> None:
        self.root = root
        rdf = root if root.tag == _q(RDF, "RDF") else root.find(_q(RDF, "RDF"))
        if rdf is None:
            rdf = ET.SubElement(root, _q(RDF, "RDF"))
        self.descriptions = rdf.findall(_q(RDF, "Description"))
        if not self.descriptions:
            self.descriptions = [ET.SubElement(rdf, _q(RDF, "Description"), {_q(RDF, "about"): ""})]
        self.main = self.descriptions[0]

    def simple(self, tag: str) -> str | None:
        for desc in self.descriptions:
            if tag in desc.attrib:
                return desc.attrib[tag]
            child = desc.find(tag)
            if child is not None:
                return (child.text or "").strip()
        return None

    def remove(self, tag: str) -> None:
        for desc in self.descriptions:
            desc.attrib.pop(tag, None)
            for child in desc.findall(tag):
                desc.remove(child)

    def set_simple(self, tag: str, value: str | None) -> None:
        self.remove(tag)
        if value not in (None, ""):
            self.main.set(tag, value)

    def bag(self, tag: str) -> list[str]:
        items: list[str] = []
        for desc in self.descriptions:
            for child in desc.findall(tag):
                lis = child.findall(f"./*/{_q(RDF, 'li')}")
                items += [(li.text or "").strip() for li in lis] if lis else [(child.text or "").strip()]
            if tag in desc.attrib:
                items.append(desc.attrib[tag])
        return [item for item in items if item]

    def set_bag(self, tag: str, items: list[str]) -> None:
        self.remove(tag)
        if items:
            holder = ET.SubElement(ET.SubElement(self.main, tag), _q(RDF, "Bag"))
            for item in items:
                ET.SubElement(holder, _q(RDF, "li")).text = item

    def _default_li(self) -> ET.Element | None:
        for desc in self.descriptions:
            alt = desc.find(f"{_q(DC, 'description')}/{_q(RDF, 'Alt')}")
            if alt is not None:
                lis = alt.findall(_q(RDF, "li"))
                return next((li for li in lis if li.get(_q(XML, "lang")) == "x-default"), lis[0] if lis else None)
        return None

    def description(self) -> str:
        li = self._default_li()
        if li is not None:
            return li.text or ""
        return self.simple(_q(DC, "description")) or ""

    def set_description(self, text: str) -> None:
        li = self._default_li()
        if li is not None:  # their other languages stay
            li.text = text
            return
        self.remove(_q(DC, "description"))
        if text:
            alt = ET.SubElement(ET.SubElement(self.main, _q(DC, "description")), _q(RDF, "Alt"))
            ET.SubElement(alt, _q(RDF, "li"), {_q(XML, "lang"): "x-default"}).text = text


def leaf(keyword: str) -> str:
    return keyword.split("|")[-1].strip()


def _merge_description(theirs: str, ours: str) -> str:
    lines = [line for line in theirs.splitlines() if not line.startswith(DESCRIPTION_MARK)]
    if ours:
        lines.append(DESCRIPTION_MARK + ours)
    return "\n".join(lines).strip("\n")


def merge(existing: bytes | None, ours: XmpFields, *, keep_their_rating: bool = False,
          now: datetime | None = None) -> tuple[bytes, list[str]]:
    """Our fields merged into `existing` (None: a new packet). Returns (packet, what changed, in words);
    nothing changed means the caller needn't write. Raises XmpError for a packet we won't touch."""
    root, prefixes = _parse(existing) if existing else (_new_root(), {})
    packet = _Packet(root)
    changes: list[str] = []

    # Rating and label: theirs is whatever differs from what we wrote last time.
    for tag, record, value, word in ((_q(XMP, "Rating"), _q(EYESPY, "Rating"), str(int(ours.rating)), "rating"),
                                     (_q(XMP, "Label"), _q(EYESPY, "Label"), ours.label, "label")):
        current, ours_before = packet.simple(tag), packet.simple(record)
        theirs = current not in (None, "") and current != ours_before
        if keep_their_rating and theirs:
            if current != value:
                changes.append(f"kept their {word} {current}")
            continue
        if (current or "") != value:
            changes.append(f"{word} {current or 'none'} → {value or 'none'}")
        packet.set_simple(tag, value)
        packet.set_simple(record, value)

    # Keywords: ours replace what we wrote before (and anything under "Eye Spy|"); theirs keep their order.
    ours_before = set(packet.bag(_q(EYESPY, "Keywords")))
    hierarchical = packet.bag(_q(LR, "hierarchicalSubject"))
    theirs_h = [k for k in hierarchical if k not in ours_before and not k.startswith(ROOT_KEYWORD + "|")]
    new_h = list(dict.fromkeys(theirs_h + list(ours.keywords)))
    leaves_before = set(packet.bag(_q(EYESPY, "Subjects")))
    theirs_leaves = {leaf(k) for k in theirs_h}
    subjects = packet.bag(_q(DC, "subject"))
    theirs_s = [s for s in subjects if s not in leaves_before or s in theirs_leaves]
    added_leaves = [s for s in dict.fromkeys(leaf(k) for k in ours.keywords) if s not in theirs_s]
    for gone in [k for k in hierarchical if k not in new_h]:
        changes.append(f"keyword −{gone}")
    for came in [k for k in ours.keywords if k not in hierarchical]:
        changes.append(f"keyword +{came}")
    if set(subjects) != set(theirs_s + added_leaves) and not any(c.startswith("keyword") for c in changes):
        changes.append("keywords tidied")
    packet.set_bag(_q(LR, "hierarchicalSubject"), new_h)
    packet.set_bag(_q(DC, "subject"), theirs_s + added_leaves)
    packet.set_bag(_q(EYESPY, "Keywords"), list(ours.keywords))
    packet.set_bag(_q(EYESPY, "Subjects"), added_leaves)

    before = packet.description()
    after = _merge_description(before, ours.description)
    if after != before:
        changes.append("description" if ours.description else "description: our line removed")
        packet.set_description(after)

    if changes or existing is None:
        stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
        packet.set_simple(_q(XMP, "MetadataDate"), stamp)  # newer than Lightroom's catalog: it offers to read
    return serialize(root, prefixes), changes


def serialize(root: ET.Element, prefixes: dict[str, str] | None = None) -> bytes:
    """The packet with every namespace declared once on its root, under the packet's own prefixes."""
    names: dict[str, str] = {}
    taken: set[str] = set()

    def prefix_for(uri: str) -> str:
        if uri not in names:
            wanted = (prefixes or {}).get(uri) or KNOWN_PREFIXES.get(uri) or "ns"
            candidate, n = wanted, 1
            while candidate in taken or not candidate.isidentifier():
                n += 1
                candidate = f"{wanted if wanted.isidentifier() else 'ns'}{n}"
            names[uri] = candidate
            taken.add(candidate)
        return names[uri]

    prefix_for(XML)  # always "xml", never declared

    def qname(tag: str) -> str:
        if tag.startswith("{"):
            uri, local = tag[1:].split("}", 1)
            return f"{prefix_for(uri)}:{local}"
        return tag

    root = _indented(root)
    out: list[str] = []

    def emit(elem: ET.Element, depth: int, declarations: str) -> None:
        attrs = "".join(f"\n{' ' * (depth + 2)}{qname(k)}={quoteattr(v)}" if elem.tag == _q(RDF, "Description")
                        else f" {qname(k)}={quoteattr(v)}" for k, v in elem.attrib.items())
        name = qname(elem.tag)
        out.append(f"<{name}{declarations}{attrs}")
        if len(elem) == 0 and not (elem.text or ""):
            out.append("/>")
        else:
            out.append(">" + escape(elem.text or ""))
            for child in elem:
                emit(child, depth + 1, "")
                out.append(escape(child.tail or ""))
            out.append(f"</{name}>")

    # Walk once to learn every prefix, then emit with the declarations on the root.
    for elem in root.iter():
        qname(elem.tag)
        for key in elem.attrib:
            qname(key)
    declarations = "".join(f' xmlns:{p}={quoteattr(uri)}' for uri, p in names.items() if uri != XML)
    emit(root, 0, declarations)
    return f"{PACKET_BEGIN}\n{''.join(out)}\n{PACKET_END}\n".encode()


def _indented(root: ET.Element) -> ET.Element:
    # Indent a copy: whitespace between RDF elements means nothing, and ours are easier to read for it.
    copy = ET.fromstring(ET.tostring(root))
    ET.indent(copy, space=" ")
    return copy


def read_fields(data: bytes) -> dict[str, object]:
    """Rating, label, keywords and description as a packet holds them (tests and dry runs read these)."""
    packet = _Packet(_parse(data)[0])
    return {"rating": packet.simple(_q(XMP, "Rating")), "label": packet.simple(_q(XMP, "Label")),
            "hierarchical": packet.bag(_q(LR, "hierarchicalSubject")), "subject": packet.bag(_q(DC, "subject")),
            "description": packet.description()}


@dataclass(frozen=True)
class TheirMarks:
    """The rating and colour label a person (or their editor) set; None / "" where there is none of theirs."""

    rating: int | None
    label: str


def their_marks(data: bytes) -> TheirMarks:
    """xmp:Rating and xmp:Label unless they are what Eye Spy last wrote (remembered as eyespy:Rating /
    eyespy:Label): a value equal to ours is our verdict echoed back, not the photographer's decision.
    Raises XmpError for a packet we won't read or a rating that isn't a number."""
    packet = _Packet(_parse(data)[0])
    marks: list[str] = []
    for tag, record in ((_q(XMP, "Rating"), _q(EYESPY, "Rating")), (_q(XMP, "Label"), _q(EYESPY, "Label"))):
        current = (packet.simple(tag) or "").strip()
        marks.append("" if current == (packet.simple(record) or "").strip() else current)
    rating, label = marks
    if not rating:
        return TheirMarks(None, label)
    try:
        return TheirMarks(int(float(rating)), label)  # XMP allows a real ("3.0"); stars are whole
    except (ValueError, OverflowError):
        raise XmpError(f"its xmp:Rating {rating!r} is not a number") from None
