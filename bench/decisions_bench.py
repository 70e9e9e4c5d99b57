"""How long `editor_decisions_read` (the session page's "read decisions", `manage.py read_decisions`) takes.

    .venv/bin/python bench/decisions_bench.py [--n 600] [--json /tmp/decisions_bench.json]

Builds, in a scratch var folder (SQLite, media on disk), one session of N processed photos with stored
predictions (half with open eyes, half blinking; no ML run) and the photographer's folder: a copy of every
photo with a Lightroom-style sidecar, 40 % kept (3 stars), 30 % rejected (-1), 30 % with no decision. Then
times the dry run (what the page shows first), the recording read (what its second click does) and a second
read of the same folder (nothing new), with the queries each one makes. Prints one JSON object.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script


def _sidecar(rating: int) -> bytes:
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
            f'xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" crs:Exposure2012="+0.35" xmp:Rating="{rating}"/>'
            "</rdf:RDF></x:xmpmeta>").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--profile", action="store_true", help="print where the recording read spends its time")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="eyespy-decisions-bench-"))
    os.environ["EYESPY_VAR_DIR"] = str(work / "var")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eyespy_site.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from review.services import editor_decisions_read
    from tests.factories import make_session, make_user
    from tests.review_builders import BLINK, OPEN, make_judged_photo, unique_jpeg

    call_command("migrate", verbosity=0)
    session = make_session(make_user("bench@example.com"), title="bench")
    folder = work / "lightroom"
    folder.mkdir()
    started = time.perf_counter()
    for n in range(args.n):
        name, data = f"IMG_{n:04d}.JPG", unique_jpeg()
        make_judged_photo(session, faces=BLINK if n % 2 else OPEN, name=name, data=data)
        (folder / name).write_bytes(data)
        if n % 10 < 7:
            (folder / f"IMG_{n:04d}.xmp").write_bytes(_sidecar(3 if n % 10 < 4 else -1))
    built = time.perf_counter() - started

    result = {"photos": args.n, "build_s": round(built, 1)}
    for step, dry_run in (("dry_run", True), ("record", False), ("second_read", False)):
        profile = cProfile.Profile() if args.profile and step == "record" else None
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            if profile:
                profile.enable()
            report = editor_decisions_read(session=session, folder=folder, dry_run=dry_run)
            seconds = time.perf_counter() - started
        if profile:
            profile.disable()
            pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        result[step] = {"seconds": round(seconds, 2), "queries": len(queries), "summary": report.summary}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
