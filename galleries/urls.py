"""The photographer's gallery pages (login, owner-checked); eyespy_site/urls.py puts them in the `sessions` namespace."""
from django.urls import path

from .views import galleries

urlpatterns = [
    path("galleries/", galleries.gallery_list, name="gallery_list"),
    path("sessions/<uuid:session_uuid>/galleries/new/", galleries.gallery_create, name="gallery_create"),
    path("galleries/<uuid:gallery_uuid>/", galleries.gallery_detail, name="gallery_detail"),
    path("galleries/<uuid:gallery_uuid>/edit/", galleries.gallery_edit, name="gallery_edit"),
    path("galleries/<uuid:gallery_uuid>/arrange/", galleries.gallery_arrange, name="gallery_arrange"),
    path("galleries/<uuid:gallery_uuid>/revoke/", galleries.gallery_revoke, name="gallery_revoke"),
    path("galleries/<uuid:gallery_uuid>/reopen/", galleries.gallery_reopen, name="gallery_reopen"),
    path("galleries/<uuid:gallery_uuid>/send/", galleries.gallery_send, name="gallery_send"),
    path("galleries/<uuid:gallery_uuid>/previews/", galleries.gallery_previews, name="gallery_previews"),
    path("galleries/<uuid:gallery_uuid>/export/<str:fmt>/", galleries.gallery_export, name="gallery_export"),
    path("galleries/<uuid:gallery_uuid>/guests/<uuid:selection_uuid>/<str:action>/", galleries.selection_action,
         name="gallery_selection_action"),
]
