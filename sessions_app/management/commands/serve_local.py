"""`manage.py serve_local`: Django's development server as `bin/run` runs it, with one change.

Django's server reads the whole unread rest of every request body before it goes on (ServerHandler.close),
so an upload refused from its headers alone (sessions_app/middleware.py: anonymous, foreign, over the
limit) would still be read to its end: 260 MB for a "403". This one reads at most DRAIN_LIMIT of it (so a
small leftover keeps the connection alive) and otherwise closes the connection instead.
"""
from __future__ import annotations

from wsgiref import simple_server

from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand
from django.core.servers import basehttp

DRAIN_LIMIT = 1024 * 1024
CHUNK = 64 * 1024


class BoundedDrainServerHandler(basehttp.ServerHandler):
    def close(self) -> None:
        stdin, drained = self.get_stdin(), 0
        while drained < DRAIN_LIMIT and (chunk := stdin.read(CHUNK)):
            drained += len(chunk)
        if drained >= DRAIN_LIMIT and stdin.read(1):
            self.request_handler.close_connection = True  # the rest stays unread; the socket closes
        simple_server.ServerHandler.close(self)  # not Django's, which would read everything left


class Command(RunserverCommand):
    help = "Run the web server as bin/run does (runserver, reading at most 1 MB of a refused request's body)."

    def inner_run(self, *args, **options):
        # basehttp.WSGIRequestHandler builds its handler from this module name; only this process serves.
        basehttp.ServerHandler = BoundedDrainServerHandler
        return super().inner_run(*args, **options)
