from django.contrib import admin
from django.urls import include, path

from galleries import urls as gallery_urls
from review import urls as review_urls
from sessions_app import urls as sessions_urls
from sessions_app.forms import ThrottledAdminAuthenticationForm

# Staff see every studio's data: the admin's login is throttled like the app's (sessions_app/login_throttle.py).
admin.site.login_form = ThrottledAdminAuthenticationForm

# The photographer's pages share one namespace, `sessions`, whichever app holds their views: clients
# (sessions_app), sessions, review and exports (review), proofing galleries (galleries; the client's side is
# `gallery`, at /g/<token>/).
sessions_patterns = [*review_urls.urlpatterns, *sessions_urls.urlpatterns, *gallery_urls.urlpatterns]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("learning/", include("learning.urls")),
    path("accounts/", include("sessions_app.urls_accounts")),
    path("g/", include("galleries.urls_public")),  # client galleries, by token
    path("", include((sessions_patterns, "sessions"))),
]
