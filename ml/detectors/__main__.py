"""`python -m ml.detectors [--json]`: the registered checks, as a table or as a JSON list (other tools read it)."""
from __future__ import annotations

import argparse
import json
import sys

from ml.detectors import describe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.detectors", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print a JSON list of objects (key, title, level, "
                                                           "rejects, schema, words)")
    args = parser.parse_args(argv)
    checks = describe()
    if args.json:
        print(json.dumps(checks, indent=2))
        return 0
    for check in checks:
        effect = "rejects" if check["rejects"] else "notes"
        print(f"{check['key']:<12} {check['title']:<24} {check['level']:<6} {effect}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
