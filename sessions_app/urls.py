"""A photographer's clients. Part of the `sessions` namespace, which eyespy_site/urls.py assembles."""
from django.urls import path

from .views import clients

urlpatterns = [
    path("clients/", clients.client_list, name="client_list"),
    path("clients/new/", clients.client_create, name="client_create"),
    path("clients/<uuid:client_uuid>/", clients.client_detail, name="client_detail"),
    path("clients/<uuid:client_uuid>/edit/", clients.client_edit, name="client_edit"),
    path("clients/<uuid:client_uuid>/delete/", clients.client_delete, name="client_delete"),
]
