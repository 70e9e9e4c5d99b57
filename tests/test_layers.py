"""The import rules of docs/ARCHITECTURE.md, checked on the source (every import, top-level or inside a function).

* ml/ is a library: it imports neither Django, Celery nor any of our apps.
* Only classifier imports ml; sessions_app (views included) and eyespy_site never do, and templates load
  no tag library but Django's own.
* One app uses another only through its `models`, `services` and `selectors` (and sessions_app's
  `media_names`, the one owner of stored names); `tasks` are imported only by services.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
APPS = ("sessions_app", "classifier")
# What one app may import from the other.
PUBLIC = {"sessions_app": {"models", "services", "selectors", "media_names"}, "classifier": {"models", "services", "selectors"}}


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute dotted name) of every import in the file; relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
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


def _sources(*tops: str) -> list[Path]:
    files = [p for top in tops for p in (REPO / top).rglob("*.py")]
    return sorted(p for p in files if "migrations" not in p.parts)


def _violations(files: list[Path], bad) -> list[str]:
    out = []
    for path in files:
        for line, name in _imports(path):
            if bad(path, name):
                out.append(f"{path.relative_to(REPO)}:{line} imports {name}")
    return out


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def test_the_scanner_sees_relative_and_function_level_imports(tmp_path):
    sample = REPO / "classifier" / "services" / "processing.py"
    names = {name for _, name in _imports(sample)}
    assert "classifier.services.model_versions" in names  # `from .model_versions import ...`
    assert "ml.analysis" in names  # imported inside a function


def test_ml_imports_neither_django_celery_nor_our_apps():
    forbidden = {"django", "celery", "kombu", "sessions_app", "classifier", "eyespy_site"}
    assert _violations(_sources("ml"), lambda _, name: _top(name) in forbidden) == []


def test_only_classifier_imports_ml():
    assert _violations(_sources("sessions_app", "eyespy_site"), lambda _, name: _top(name) == "ml") == []


def test_views_never_reach_ml_or_the_worker_model():
    views = [p for p in _sources("sessions_app", "classifier") if "views" in p.parts or p.name == "views.py"]
    assert views, "no views found: the test is looking in the wrong place"
    worker_side = ("ml", "classifier.worker_model", "classifier.services.processing")
    assert _violations(views, lambda _, name: name == worker_side[0] or name.startswith(
        tuple(w + "." for w in worker_side)) or name in worker_side) == []


def test_templates_reach_ml_through_no_tag_library():
    """Templates can only reach code through tag libraries: Django's own, or ours, which never import ml."""
    ours = {p.stem: p for app in APPS for p in (REPO / app / "templatetags").glob("*.py") if p.stem != "__init__"}
    loads = set()
    for path in (REPO / "templates").rglob("*.html"):
        loads.update(lib for match in re.findall(r"{%\s*load\s+([^%]+)%}", path.read_text()) for lib in match.split())
    assert loads <= {"static", "i18n", "l10n", "tz", "humanize", "cache", *ours}, loads
    worker_side = ("ml", "classifier.worker_model", "classifier.services.processing")
    assert _violations(list(ours.values()), lambda _, name: name.startswith(worker_side)) == []


@pytest.mark.parametrize("app", APPS)
def test_apps_use_each_other_only_through_models_services_selectors(app):
    other = next(a for a in APPS if a != app)

    def bad(_, name: str) -> bool:
        parts = name.split(".")
        return parts[0] == other and len(parts) > 1 and parts[1] not in PUBLIC[other]

    assert _violations(_sources(app), bad) == []


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
