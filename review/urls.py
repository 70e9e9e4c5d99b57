"""The photographer's session pages: dashboard, sessions and upload, media, review, exports.

Part of the `sessions` namespace, which eyespy_site/urls.py assembles from sessions_app (clients), this
module and galleries (the photographer's gallery pages).
"""
from django.urls import path

from .views import dashboard, exports, loupe, media, review, sessions, upload

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    # Sessions
    path("sessions/new/", sessions.session_create, name="session_create"),
    path("sessions/<uuid:session_uuid>/", sessions.session_detail, name="detail"),
    path("sessions/<uuid:session_uuid>/edit/", sessions.session_edit, name="session_edit"),
    path("sessions/<uuid:session_uuid>/delete/", sessions.session_delete, name="session_delete"),
    path("sessions/<uuid:session_uuid>/upload/", upload.session_upload, name="upload"),
    path("sessions/<uuid:session_uuid>/upload/direct/", upload.session_upload_direct, name="upload_direct"),
    path("sessions/<uuid:session_uuid>/upload/direct/done/", upload.session_upload_direct_done,
         name="upload_direct_done"),
    path("sessions/<uuid:session_uuid>/decisions/", sessions.session_read_decisions, name="read_decisions"),
    path("sessions/<uuid:session_uuid>/progress/", sessions.session_progress, name="progress"),
    path("sessions/<uuid:session_uuid>/rerun/", sessions.session_rerun, name="rerun"),
    # Media (ownership-checked)
    path("photos/<uuid:photo_uuid>/thumb/", media.photo_thumbnail, name="photo_thumbnail"),
    path("photos/<uuid:photo_uuid>/preview/", media.photo_preview, name="photo_preview"),
    path("photos/<uuid:photo_uuid>/original/", media.photo_original, name="photo_original"),
    path("photos/<uuid:photo_uuid>/eye/<int:face>/<str:side>/", media.photo_eye_crop, name="photo_eye"),
    # Review (corrections, strictness, lightbox)
    path("sessions/<uuid:session_uuid>/review/", review.review_page, name="review"),
    path("sessions/<uuid:session_uuid>/review/bulk/", review.review_bulk, name="review_bulk"),
    path("sessions/<uuid:session_uuid>/review/undo/", review.session_undo, name="review_undo"),
    path("sessions/<uuid:session_uuid>/review/seen/", loupe.review_seen, name="review_seen"),
    path("sessions/<uuid:session_uuid>/review/strictness/", review.strictness_apply, name="review_strictness"),
    path("sessions/<uuid:session_uuid>/review/checks/<slug:key>/strictness/", review.check_strictness_apply,
         name="review_check_strictness"),
    path("sessions/<uuid:session_uuid>/review/strictness/preview/", review.strictness_preview,
         name="review_strictness_preview"),
    path("photos/<uuid:photo_uuid>/correct/", review.photo_correct, name="photo_correct"),
    path("photos/<uuid:photo_uuid>/undo/", review.photo_undo, name="photo_undo"),
    path("photos/<uuid:photo_uuid>/lightbox/", review.photo_lightbox, name="photo_lightbox"),
    path("photos/<uuid:photo_uuid>/loupe/", loupe.photo_loupe, name="photo_loupe"),
    path("photos/<uuid:photo_uuid>/zoom/<int:face>/", review.photo_zoom, name="photo_zoom"),
    # Exports
    path("sessions/<uuid:session_uuid>/exports/", exports.export_page, name="exports"),
    path("sessions/<uuid:session_uuid>/exports/<uuid:export_uuid>/", exports.export_detail, name="export_detail"),
    path("sessions/<uuid:session_uuid>/exports/<uuid:export_uuid>/download/", exports.export_download,
         name="export_download"),
]
