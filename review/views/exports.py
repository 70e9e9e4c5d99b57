"""Exports page: start an export, watch its progress, download it; plus the Lightroom filename filters."""
from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from sessions_app import selectors
from sessions_app.models import Export, Photo
from sessions_app.shortcuts import is_htmx, render_no_store, serve_stored_file

from .. import selectors as review
from ..exports import (
    KEEPERS,
    NAMINGS,
    REJECTS,
    ExportError,
    ExportOptions,
    export_create,
    export_filename,
    filename_filter,
    keepers,
    unresolved,
)
from ..exports.options import CHECK_APART, CHECK_PHOTOS, COLOUR_LABELS, METADATA_FORMATS, RATING_MAX, RATING_MIN
from ..exports.selectors import export_get_for_owner, export_list

FORMAT_HELP = {
    Export.Format.KEEPERS_ZIP: "the keepers' originals, ready for your editor",
    Export.Format.FOLDERS_ZIP: "every original, in BLINKING/ and NOT_BLINKING/ folders, and CHECK/ for those "
                               "still to check",
    Export.Format.XMP: "one .xmp per photo with a rating and colour label, to drop beside your originals or raws",
    Export.Format.EMBEDDED_ZIP: "every judged original with its rating, label, keywords and reasons written into "
                                "the JPEG, TIFF, DNG and HEIC files themselves (pixels untouched; other RAWs get "
                                "a sidecar), for editors that ignore sidecars of JPEGs",
    Export.Format.CSV: "file name, verdict, the model's confidence (empty where you corrected the photo), each eye's "
                       "state and openness, who corrected it and why, and whether it is still to check",
}
_RATINGS = [
    (n, "reject (−1)" if n == -1 else ("none (0)" if n == 0 else "★" * n)) for n in range(RATING_MIN, RATING_MAX + 1)
]
_LABELS = [("", "none"), *((name, name) for name in COLOUR_LABELS)]


class ExportForm(forms.Form):
    format = forms.ChoiceField(
        choices=Export.Format.choices, widget=forms.RadioSelect, initial=Export.Format.KEEPERS_ZIP
    )
    rating_keeper = forms.TypedChoiceField(choices=_RATINGS, coerce=int, initial=ExportOptions.rating_keeper,
                                           label="Rating for keepers")
    rating_blinking = forms.TypedChoiceField(choices=_RATINGS, coerce=int, initial=ExportOptions.rating_blinking,
                                             label="Rating for rejects")
    # Lightroom's colour labels only: anything else would show as a white "custom" label there.
    label_keeper = forms.ChoiceField(choices=_LABELS, required=False, initial=ExportOptions.label_keeper,
                                     label="Colour label for keepers")
    label_blinking = forms.ChoiceField(choices=_LABELS, required=False, initial=ExportOptions.label_blinking,
                                       label="Colour label for rejects")
    label_check = forms.ChoiceField(choices=_LABELS, required=False, initial=ExportOptions.label_check,
                                    label="Colour label for photos still to check")
    xmp_naming = forms.ChoiceField(choices=list(NAMINGS.items()), initial="basename", label="Sidecar names")
    keep_their_rating = forms.BooleanField(required=False, label="Keep a rating or label already in the file")
    check_photos = forms.ChoiceField(choices=list(CHECK_PHOTOS.items()), initial=CHECK_APART, required=False,
                                     label="Photos still to check")
    best_of_bursts = forms.BooleanField(required=False, label="Keepers: only the best frame of each burst")


@login_required
@require_http_methods(["GET", "POST"])
def export_page(request: HttpRequest, session_uuid) -> HttpResponse:
    session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        fmt = data.pop("format")
        try:
            export = export_create(session=session, fmt=fmt, by=request.user, options=data)
        except ExportError as exc:
            form.add_error(None, exc.reason[:1].upper() + exc.reason[1:])
        else:
            return redirect("sessions:export_detail", session_uuid=session.uuid, export_uuid=export.uuid)
    cards = review.session_cards(session=session)
    context = {
        "session": session,
        "form": form,
        "format_choices": [(value, label, FORMAT_HELP[value]) for value, label in Export.Format.choices],
        "metadata_formats": " ".join(sorted(METADATA_FORMATS)),
        "exports": export_list(session=session),
        "keepers": len(keepers(cards)),
        "rejects": sum(1 for c in cards if not c.is_keeper and not c.unreadable),
        "to_check": unresolved(cards),
        "unreadable": sum(1 for c in cards if c.unreadable),
        "pending": session.photos.filter(status__in=[Photo.Status.QUEUED, Photo.Status.PROCESSING]).count(),
        "lightroom_keepers": filename_filter(cards, which=KEEPERS),
        "lightroom_rejects": filename_filter(cards, which=REJECTS),
    }
    return render(request, "sessions_app/exports.html", context)


@login_required
@require_GET
def export_detail(request: HttpRequest, session_uuid, export_uuid) -> HttpResponse:
    """The export's progress (htmx polls the panel while it builds) and its download link."""
    session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    export = export_get_for_owner(owner=request.user, session=session, export_uuid=export_uuid)
    context = {"session": session, "export": export, "filename": export_filename(export)}
    template = "sessions_app/_export_status.html" if is_htmx(request) else "sessions_app/export_detail.html"
    return render_no_store(request, template, context)


@login_required
@require_GET
def export_download(request: HttpRequest, session_uuid, export_uuid) -> HttpResponse:
    session = selectors.session_get_for_owner(owner=request.user, session_uuid=session_uuid)
    export = export_get_for_owner(owner=request.user, session=session, export_uuid=export_uuid)
    if export.status != Export.Status.DONE or not export.file:
        raise Http404("This export isn't ready.")
    content_type = "text/csv" if export.format == Export.Format.CSV else "application/zip"
    return serve_stored_file(export.file.storage, export.file.name, content_type=content_type,
                             filename=export_filename(export), as_attachment=True)
