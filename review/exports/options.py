"""What an export can be told: XMP ratings, labels and sidecar naming. Validated once, stored on Export.options."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from eyespy_site.errors import AppError

NAMING_BASENAME = "basename"  # IMG_0001.xmp      (Lightroom, Camera Raw, Capture One)
NAMING_FULL = "full"  # IMG_0001.JPG.xmp  (darktable, digiKam)
NAMINGS = {
    NAMING_BASENAME: "IMG_0001.xmp (Lightroom, Capture One)",
    NAMING_FULL: "IMG_0001.JPG.xmp (darktable, digiKam)",
}
# The exports that write XMP (and so take the rating, label and naming options below).
METADATA_FORMATS = frozenset({"xmp", "embedded-zip"})
RATING_MIN, RATING_MAX = -1, 5  # -1 is "rejected" in xmp:Rating
# Photos still in "Check these" (nobody decided them) never leave as keepers silently: apart (the default:
# out of the keepers, in CHECK/ and with the check colour), or counted as keepers / rejects on purpose.
CHECK_APART, CHECK_AS_KEEPERS, CHECK_AS_REJECTS = "apart", "keepers", "rejects"
CHECK_PHOTOS = {CHECK_APART: "keep them apart (CHECK/, check colour)",
                CHECK_AS_KEEPERS: "count them as keepers", CHECK_AS_REJECTS: "count them as rejects"}
# Lightroom's default colour label set: xmp:Label must match one of these names to show as a colour
# (Capture One and darktable read the same words). "" means no label.
COLOUR_LABELS = ("Red", "Yellow", "Green", "Blue", "Purple")


class ExportError(AppError):
    """An export that can't be made as asked. `reason` is shown to the photographer as is."""


@dataclass(frozen=True)
class ExportOptions:
    rating_keeper: int = 0
    rating_blinking: int = -1
    label_keeper: str = ""
    label_blinking: str = "Red"
    xmp_naming: str = NAMING_BASENAME
    # Photos still in the review's "check these" group keep their verdict's rating but get this colour
    # instead, so an editor can filter them ("" = the verdict's own label).
    label_check: str = "Purple"
    # Per check: the XMP keyword for its flag in force (check key -> keyword; "" = none); checks not named
    # here use their own words (ml.detectors.Words.keyword, e.g. "Eye Spy|blink").
    flag_keywords: tuple[tuple[str, str], ...] = ()
    # Per check: the colour label of the photos it rejects (check key -> label; "" = none), so an editor can
    # tell a soft reject from a blink; checks not named here give their rejects `label_blinking`.
    flag_labels: tuple[tuple[str, str], ...] = ()
    # Merging into a file or sidecar that already has a rating or colour label the photographer set (anything
    # other than what Eye Spy last wrote there): keep theirs. Our keywords and description still go in.
    keep_their_rating: bool = False
    check_photos: str = CHECK_APART  # see CHECK_PHOTOS
    best_of_bursts: bool = False  # keepers: only the best-ranked keeper of each burst (and every single frame)

    def __post_init__(self) -> None:
        for name in ("rating_keeper", "rating_blinking"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not RATING_MIN <= value <= RATING_MAX:
                raise ExportError(f"{name.replace('_', ' ')} must be a whole number from {RATING_MIN} to {RATING_MAX}")
        for name in ("label_keeper", "label_blinking", "label_check"):
            value = getattr(self, name)
            if value != "" and value not in COLOUR_LABELS:
                raise ExportError(
                    f"{name.replace('_', ' ')} must be one of Lightroom's colour labels ({', '.join(COLOUR_LABELS)}) "
                    "or empty for none"
                )
        if self.check_photos not in CHECK_PHOTOS:
            raise ExportError(f"photos still to check: one of {', '.join(CHECK_PHOTOS)}")
        if self.xmp_naming not in NAMINGS:
            raise ExportError(f"sidecar naming must be one of: {', '.join(NAMINGS)}")
        for key, label in self.flag_labels:
            if not key or (label != "" and label not in COLOUR_LABELS):
                raise ExportError(f"a check's label is KEY=LABEL with one of {', '.join(COLOUR_LABELS)} or none "
                                  f"(got {key}={label})")
        for key, keyword in self.flag_keywords:
            if not key or "\n" in keyword or len(keyword) > 200:
                raise ExportError(f"a check's keyword is KEY=TEXT on one line (got {key}={keyword!r})")

    def reject_label_for(self, keys: tuple[str, ...]) -> str:
        """The label of a reject: the first rejecting check with a label of its own here, else label_blinking."""
        chosen = dict(self.flag_labels)
        return next((chosen[k] for k in keys if k in chosen), self.label_blinking)

    def keyword_for(self, key: str, default: str) -> str:
        """The XMP keyword for check `key`'s flag: this export's choice, else the check's own."""
        return dict(self.flag_keywords).get(key, default)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ExportOptions:
        """Options from JSON/form data; unknown keys are ignored, bad values raise ExportError."""
        data = dict(data or {})
        kwargs: dict[str, Any] = {}
        for name in ("rating_keeper", "rating_blinking"):
            if data.get(name) not in (None, ""):
                try:
                    kwargs[name] = int(str(data[name]).strip())
                except ValueError:
                    raise ExportError(f"{name.replace('_', ' ')} must be a whole number") from None
        for name in ("label_keeper", "label_blinking", "label_check", "xmp_naming"):
            if data.get(name) is not None:
                kwargs[name] = str(data[name]).strip()
        if data.get("check_photos") not in (None, ""):
            kwargs["check_photos"] = str(data["check_photos"]).strip().lower()
        for name in ("keep_their_rating", "best_of_bursts"):
            if data.get(name) not in (None, ""):
                kwargs[name] = str(data[name]).strip().lower() in ("1", "true", "on", "yes")
        labels = data.get("flag_labels") or ()
        if isinstance(labels, dict):
            labels = labels.items()
        try:
            pairs = [(str(k).strip(), str(v).strip()) for k, v in
                     (item.split("=", 1) if isinstance(item, str) else item for item in labels)]
        except ValueError:
            raise ExportError("a check's label is KEY=LABEL, e.g. focus=Yellow") from None
        # "yellow" means Yellow, "none" no label, as for the other labels.
        kwargs["flag_labels"] = tuple(
            (k, next((c for c in COLOUR_LABELS if c.casefold() == v.casefold()), "" if v.casefold() == "none" else v))
            for k, v in pairs)
        keywords = data.get("flag_keywords") or ()
        if isinstance(keywords, dict):
            keywords = keywords.items()
        try:
            kwargs["flag_keywords"] = tuple(
                (str(k).strip(), "" if str(v).strip().lower() == "none" else str(v).strip())
                for k, v in (item.split("=", 1) if isinstance(item, str) else item for item in keywords))
        except ValueError:
            raise ExportError("a check's keyword is KEY=TEXT, e.g. blink=Culled|eyes") from None
        for name in ("label_keeper", "label_blinking", "label_check"):
            # "green" or "GREEN" from the CLI means Green; "none" means no label.
            if name in kwargs:
                wanted = kwargs[name].casefold()
                kwargs[name] = next((c for c in COLOUR_LABELS if c.casefold() == wanted),
                                    "" if wanted == "none" else kwargs[name])
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["flag_keywords"] = [f"{k}={v}" for k, v in self.flag_keywords]  # JSON on Export.options
        data["flag_labels"] = [f"{k}={v or 'none'}" for k, v in self.flag_labels]
        return data
