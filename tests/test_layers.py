"""The import rules of docs/ARCHITECTURE.md ("Apps"), checked on the source (every import, top-level or inside a function).

The apps stand in floors; an app imports only apps on lower floors (arrows point down):

    galleries   learning      (one floor: neither imports the other)
    review
    classifier
    sessions_app
    ml  eyespy_site           (eyespy_site/urls.py alone wires every app's URLconfs in)

* ml/ is a library: it imports neither Django, Celery nor any of our apps.
* sessions_app imports only `ml.imaging` (the upload checks); galleries and eyespy_site never import ml;
  views and template tag libraries never reach ml or the worker model.
* One app uses another only through its `models`, `services` and `selectors` (and sessions_app's
  `media_names`, the one owner of stored names), plus the few named exceptions below, each with its
  reason; `tasks` are imported only by services.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Our Django apps, each on its floor: an import may only go to a lower floor.
FLOOR = {"sessions_app": 0, "classifier": 1, "review": 2, "learning": 3, "galleries": 3}
APPS = tuple(FLOOR)
# What another app may import from an app (a module and anything under it).
PUBLIC = {"models", "services", "selectors"}
PUBLIC_EXTRA = {"sessions_app": {"media_names"}}
# The named exceptions: (importing app, module) -> why it is allowed.
SHORTCUTS = "the views' shared helpers: htmx partials, a form handed to a service, serving a stored file after the owner check"
EXCEPTIONS = {
    ("review", "sessions_app.shortcuts"): SHORTCUTS,
    ("galleries", "sessions_app.shortcuts"): SHORTCUTS,
    ("review", "sessions_app.middleware"): "the upload view asks the upload gate the middleware asked first (upload_gate, wants_json)",
    ("galleries", "sessions_app.login_throttle"): "guest limits count with the login throttle's counters (Limit, admit, client_ip)",
    ("galleries", "review.exports"): "gallery downloads reuse the session exports' safe names, options, XMP sidecars and CSV guard",
    ("classifier", "sessions_app.admin"): "classifier/admin.py extends sessions_app's Photo admin with the re-run action",
}
# Which part of ml each app may import (None: all of it); an app not named here imports none of it.
ML_ALLOWED = {"classifier": None, "review": None, "learning": None, "sessions_app": "ml.imaging"}
WORKER_SIDE = ("ml", "classifier.worker_model", "classifier.services.processing")


def _imports(path: Path, root: Path = REPO) -> Iterator[tuple[int, str]]:
    """(line, absolute dotted name) of every import in the file; relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # `from classifier import services` names a module too
                yield node.lineno, f"{module}.{alias.name}"


def _sources(*tops: str, root: Path = REPO) -> list[Path]:
    files = [p for top in tops for p in (root / top).rglob("*.py")]
    return sorted(p for p in files if "migrations" not in p.parts)


def _violations(files: list[Path], bad, root: Path = REPO) -> list[str]:
    out = []
    for path in files:
        for line, name in _imports(path, root):
            if bad(path, name):
                out.append(f"{path.relative_to(root)}:{line} imports {name}")
    return out


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def _app_of(path: Path, root: Path = REPO) -> str:
    return path.relative_to(root).parts[0]


def _within(name: str, module: str) -> bool:
    return name == module or name.startswith(module + ".")


def _points_up(path: Path, name: str, root: Path = REPO) -> bool:
    """An import from one app to an app on its own floor or above (learning <-> galleries included)."""
    src, dst = _app_of(path, root), _top(name)
    return src in FLOOR and dst in FLOOR and src != dst and FLOOR[dst] >= FLOOR[src]


def test_the_scanner_sees_relative_and_function_level_imports(tmp_path):
    sample = REPO / "classifier" / "services" / "processing.py"
    names = {name for _, name in _imports(sample)}
    assert "classifier.services.model_versions" in names  # `from .model_versions import ...`
    assert "ml.analysis" in names  # imported inside a function


def test_every_installed_app_of_ours_has_a_floor(settings):
    ours = {app.split(".")[0] for app in settings.INSTALLED_APPS if (REPO / app.split(".")[0] / "apps.py").is_file()}
    assert ours == set(FLOOR), "place a new app in FLOOR (and in docs/ARCHITECTURE.md's Apps)"


def test_imports_between_apps_point_down():
    """sessions_app < classifier < review < {learning, galleries}: no app imports one above it or beside it."""
    assert _violations(_sources(*APPS), _points_up) == []


def test_the_direction_check_catches_an_upward_import(tmp_path):
    """The check itself, on a tree of its own: upward and sideways imports, top-level or inside a function,
    are each reported with file and line; downward ones are not."""
    files = {
        "sessions_app/views/probe.py": "from classifier import services\n\ndef f():\n    from review import selectors\n",
        "classifier/services/probe.py": "from sessions_app.models import Photo\nfrom review.selectors import cards\n",
        "galleries/probe.py": "from review import selectors\nimport learning.services\n",
        "learning/probe.py": "def g():\n    from galleries import selectors\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = _violations(_sources(*APPS, root=tmp_path), lambda p, n: _points_up(p, n, tmp_path), root=tmp_path)
    assert found == [
        "classifier/services/probe.py:2 imports review.selectors",
        "classifier/services/probe.py:2 imports review.selectors.cards",
        "galleries/probe.py:2 imports learning.services",
        "learning/probe.py:2 imports galleries",
        "learning/probe.py:2 imports galleries.selectors",
        "sessions_app/views/probe.py:1 imports classifier",
        "sessions_app/views/probe.py:1 imports classifier.services",
        "sessions_app/views/probe.py:4 imports review",
        "sessions_app/views/probe.py:4 imports review.selectors",
    ]


def test_ml_imports_neither_django_celery_nor_our_apps():
    forbidden = {"django", "celery", "kombu", "eyespy_site", *APPS}
    assert _violations(_sources("ml"), lambda _, name: _top(name) in forbidden) == []


def test_ml_is_imported_only_where_it_belongs():
    """sessions_app reads upload headers through ml.imaging only; galleries and eyespy_site never import ml."""

    def bad(path: Path, name: str) -> bool:
        if _top(name) != "ml":
            return False
        app = _app_of(path)
        if app not in ML_ALLOWED:
            return True
        allowed = ML_ALLOWED[app]
        return allowed is not None and not _within(name, allowed)

    assert _violations(_sources(*APPS, "eyespy_site"), bad) == []


def test_views_never_reach_ml_or_the_worker_model():
    views = [p for p in _sources(*APPS) if "views" in p.parts or p.name == "views.py"]
    assert {_app_of(p) for p in views} >= {"sessions_app", "review", "learning", "galleries"}, "views moved?"
    assert _violations(views, lambda _, name: any(_within(name, w) for w in WORKER_SIDE)) == []


def test_templates_reach_ml_through_no_tag_library():
    """Templates can only reach code through tag libraries: Django's own, or ours, which never import ml."""
    ours = {p.stem: p for app in APPS for p in (REPO / app / "templatetags").glob("*.py") if p.stem != "__init__"}
    loads = set()
    for path in (REPO / "templates").rglob("*.html"):
        loads.update(lib for match in re.findall(r"{%\s*load\s+([^%]+)%}", path.read_text()) for lib in match.split())
    assert loads <= {"static", "i18n", "l10n", "tz", "humanize", "cache", *ours}, loads
    assert _violations(list(ours.values()), lambda _, name: any(_within(name, w) for w in WORKER_SIDE)) == []


@pytest.mark.parametrize("app", APPS)
def test_apps_use_each_other_only_through_models_services_selectors(app):
    def bad(path: Path, name: str) -> bool:
        parts = name.split(".")
        other = parts[0]
        if other not in FLOOR or other == app or len(parts) < 2:
            return False
        if parts[1] in PUBLIC | PUBLIC_EXTRA.get(other, set()):
            return False
        return not any(src == app and _within(name, module) for src, module in EXCEPTIONS)

    assert _violations(_sources(app), bad) == []


def test_every_named_exception_is_still_used():
    """An exception nobody needs any more is removed, so the list stays the short truth."""
    used = {
        (src, module)
        for src, module in EXCEPTIONS
        for path in _sources(src)
        for _, name in _imports(path)
        if _within(name, module)
    }
    assert set(EXCEPTIONS) - used == set()


def test_tasks_are_imported_only_by_services():
    def bad(path: Path, name: str) -> bool:
        is_task_module = name.endswith(".tasks") or ".tasks." in name
        is_service = "services" in path.parts or path.stem == "services"
        return is_task_module and _top(name) in APPS and not is_service

    assert _violations(_sources(*APPS), bad) == []


def test_eyespy_site_holds_no_app_logic():
    # urls.py wires the apps' views in; nothing else in the project package reaches into an app.
    files = [p for p in _sources("eyespy_site") if p.name != "urls.py"]
    assert _violations(files, lambda _, name: _top(name) in APPS) == []
