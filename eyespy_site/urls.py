from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("sessions_app.urls_accounts")),
    path("g/", include("sessions_app.urls_gallery_public")),  # client galleries, by token
    path("", include("sessions_app.urls")),
]
