from django.contrib import admin
from django.urls import include, path

from sessions_app.forms import ThrottledAdminAuthenticationForm

# Staff see every studio's data: the admin's login is throttled like the app's (sessions_app/login_throttle.py).
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("sessions_app.urls_accounts")),
    path("", include("sessions_app.urls")),
]
