from django.urls import path

from .views import photographer, staff

app_name = "learning"

urlpatterns = [
    # Staff
    path("dataset/", staff.dataset_page, name="dataset"),
    path("dataset/examples/<int:example_id>.png", staff.example_crop, name="example_crop"),
    path("models/", staff.models_page, name="models"),
    path("models/<int:version_id>/promote/", staff.version_promote, name="promote"),
    path("models/reanalyse/", staff.sessions_reanalyse, name="reanalyse_many"),
    path("runs/start/", staff.run_start, name="run_start"),
    path("runs/<int:run_id>/", staff.run_page, name="run"),
    path("runs/<int:run_id>/cancel/", staff.run_cancel, name="run_cancel"),
    # Photographers (owner-checked)
    path("me/", photographer.personal_page, name="personal"),
    path("me/accept/", photographer.personal_accept, name="personal_accept"),
    path("me/opt-out/", photographer.personal_opt_out, name="personal_opt_out"),
    path("photos/<uuid:photo_uuid>/eye-pick/", photographer.eye_pick, name="eye_pick"),
    path("sessions/<uuid:session_uuid>/eye-picks/", photographer.session_eye_picks, name="session_eye_picks"),
    path("sessions/<uuid:session_uuid>/models/", photographer.session_models, name="session_models"),
    path("sessions/<uuid:session_uuid>/reanalyse/", photographer.session_reanalyse, name="reanalyse"),
    path("sessions/<uuid:session_uuid>/opt-out/", photographer.session_training_opt_out, name="opt_out"),
]
