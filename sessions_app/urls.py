from django.urls import path

from .views import dashboard

app_name = "sessions"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
]
