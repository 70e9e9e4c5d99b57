"""The client's gallery pages, by token (no account). See galleries.views.gallery_public."""
from django.urls import path

from .views import gallery_public as views

app_name = "gallery"

urlpatterns = [
    path("<str:token>/", views.home, name="home"),
    path("<str:token>/enter/", views.enter, name="enter"),
    path("<str:token>/submit/", views.submit, name="submit"),
    path("<str:token>/p/<uuid:item_uuid>/<int:size>.jpg", views.photo_preview, name="preview"),
    path("<str:token>/p/<uuid:item_uuid>/download/", views.photo_download, name="download"),
    path("<str:token>/p/<uuid:item_uuid>/favourite/", views.photo_favourite, name="favourite"),
    path("<str:token>/p/<uuid:item_uuid>/comment/", views.photo_comment, name="comment"),
]
