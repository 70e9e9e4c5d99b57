"""The Celery app. Workers: `celery -A eyespy_site worker -Q zooms,photos,exports,training`.

Nothing heavy is imported here: models load lazily inside the first task of each child process
(loading TensorFlow/LiteRT before fork hangs the children).
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eyespy_site.settings")

app = Celery("eyespy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
