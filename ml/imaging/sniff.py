"""Sniffing: what is this file? Supported formats from the first bytes, and a readable guess for the rest."""
from __future__ import annotations

import struct

from ml.imaging.errors import ImageError
from ml.imaging.raw import kind_words, raw_kind

SUPPORTED_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "HEIF", "RAW")
_HEAD_BYTES = 4096  # enough for every signature and for a useful "looks like ..." guess
_SUPPORTED_HINT = "use JPEG, PNG, TIFF, WebP, HEIC or camera RAW"


_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}
_VIDEO_BRANDS = {b"isom", b"iso2", b"mp41", b"mp42", b"qt  ", b"M4V ", b"M4A ", b"3gp4", b"3gp5", b"3g2a", b"avc1", b"dash"}


def _ftyp_brands(head: bytes) -> list[bytes]:
    """Major + compatible brands of an ISO-BMFF `ftyp` box at the start of the file, else []."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return []
    size = struct.unpack(">I", head[:4])[0]
    end = min(len(head), size if size >= 16 else 16)
    brands = [head[8:12]]
    brands += [head[i : i + 4] for i in range(16, end - 3, 4)]
    return brands


def sniff_format(head: bytes) -> str | None:
    """The supported image format the first bytes announce ("JPEG", "PNG", "TIFF", "WEBP", "HEIF", "RAW"), else None.

    Give it at least the first 32 bytes (the first few KB for HEIF files with a long brand list).
    Content decides, never the file name: a PDF renamed to .jpg is still a PDF. TIFF-based RAWs (NEF,
    ARW, DNG, ...) say "TIFF" here: only their first directory tells (`image_header_info` reads it).
    """
    if raw_kind(head) is not None:
        return "RAW"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    brands = set(_ftyp_brands(head))
    if brands & (_HEIF_BRANDS - {b"mif1", b"msf1", b"mif2"}):
        return "HEIF"
    if brands & {b"mif1", b"msf1", b"mif2"} and not brands & _AVIF_BRANDS:
        return "HEIF"
    return None


def describe_content(head: bytes) -> str:
    """A short guess at what a non-image file is, for error messages ("a PDF", "an HTML page", ...)."""
    h = head
    kind = raw_kind(h)
    if kind:
        return kind_words(kind)
    known = (
        (b"%PDF", "a PDF"),
        (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
        (b"PK\x05\x06", "an empty ZIP archive"),
        (b"GIF87a", "a GIF image"),
        (b"GIF89a", "a GIF image"),
        (b"8BPS", "a Photoshop PSD file"),
        (b"\x1f\x8b", "a gzip archive"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
        (b"Rar!\x1a\x07", "a RAR archive"),
        (b"\x7fELF", "a program (ELF executable)"),
        (b"MZ", "a Windows program"),
        (b"ID3", "an audio file (MP3)"),
        (b"OggS", "an audio or video file (Ogg)"),
        (b"fLaC", "an audio file (FLAC)"),
        (b"\x1a\x45\xdf\xa3", "a video (MKV/WebM)"),
        (b"\x00\x00\x01\x00", "an icon (ICO)"),
        (b"SQLite format 3\x00", "a database file (SQLite)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document"),
    )
    for magic, what in known:
        if h.startswith(magic):
            return what
    if h[:2] == b"BM" and len(h) >= 10 and h[6:10] == b"\x00\x00\x00\x00":
        return "a BMP image"
    if h[:4] == b"RIFF":
        kind = h[8:12]
        return {b"WAVE": "an audio file (WAV)", b"AVI ": "a video (AVI)"}.get(kind, "a RIFF file")
    brands = set(_ftyp_brands(h))
    if brands & _AVIF_BRANDS:
        return "an AVIF image"
    if brands:
        return "a video (MP4/MOV)" if brands & _VIDEO_BRANDS or b"qt  " in brands else "an MP4-family file"
    if h[:4] in (b"II*\x00", b"MM\x00*"):
        return "a TIFF-based camera RAW file"
    text = _as_text(h)
    if text is not None:
        lowered = text.lstrip().lower()
        if lowered.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in lowered[:512]:
            return "an HTML page"
        if "<svg" in lowered[:1024]:
            return "an SVG drawing"
        if lowered.startswith("<?xml"):
            return "an XML document"
        if lowered.startswith(("{", "[")):
            return "a text file (JSON)"
        return "a text file"
    return "unrecognised data"


def _as_text(head: bytes) -> str | None:
    sample = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    if not sample or b"\x00" in sample:
        return None
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # a multi-byte character cut at the end of the head is fine
            return None
        text = sample[: exc.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return text if printable >= 0.95 * max(1, len(text)) else None


_OTHER_IMAGE_TYPES = {
    "a GIF image": "GIF",
    "a BMP image": "BMP",
    "a Photoshop PSD file": "PSD",
    "an icon (ICO)": "ICO",
    "an AVIF image": "AVIF",
    "an SVG drawing": "SVG",
}


def _unsupported(head: bytes) -> ImageError:
    what = describe_content(head)
    if what in _OTHER_IMAGE_TYPES:
        return ImageError(f"unsupported image type: {_OTHER_IMAGE_TYPES[what]} ({_SUPPORTED_HINT})")
    return ImageError(f"not an image (looks like {what})")
