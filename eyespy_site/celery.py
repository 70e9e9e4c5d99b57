"""The Celery app. Workers: `celery -A eyespy_site worker -Q zooms,photos,exports,training`.

Nothing heavy is imported here: models load lazily inside the first task of each child process
(loading TensorFlow/LiteRT before fork hangs the children).
"""
import os
import threading

from celery import Celery
from celery.signals import celeryd_init, worker_process_init, worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eyespy_site.settings")

app = Celery("eyespy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@celeryd_init.connect
def _worker_broker_timeouts(conf=None, **kwargs) -> None:
    """A worker waits a stalled broker out; the web gives up at once (settings, EYESPY_WORKER_BROKER_TRANSPORT_OPTIONS).
    Set before the worker connects; its pool children and embedded beat inherit it."""
    from django.conf import settings

    conf.broker_transport_options = {**conf.broker_transport_options, **settings.EYESPY_WORKER_BROKER_TRANSPORT_OPTIONS}


@worker_process_init.connect
def _lower_child_priority(**kwargs) -> None:
    from django.conf import settings

    if settings.EYESPY_WORKER_CHILD_NICE > 0:
        os.nice(settings.EYESPY_WORKER_CHILD_NICE)


# --- Worker heartbeat (eyespy_site/heartbeat.py): the web can tell when no worker is alive ------------
_heartbeat_stop = threading.Event()


@worker_ready.connect
def _start_heartbeat(sender=None, **kwargs) -> None:
    from . import heartbeat

    heartbeat.start_beating(sender.hostname, _heartbeat_stop)


@worker_shutdown.connect
def _stop_heartbeat(sender=None, **kwargs) -> None:
    from . import heartbeat

    _heartbeat_stop.set()
    try:
        heartbeat.forget(sender.hostname)
    except Exception:  # the broker may be gone already; the key expires by itself
        pass
