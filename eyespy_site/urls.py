from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("learning/", include("classifier.urls")),
    path("accounts/", include("sessions_app.urls_accounts")),
    path("", include("sessions_app.urls")),
]
