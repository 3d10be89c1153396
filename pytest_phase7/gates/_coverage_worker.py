"""Subprocess worker of the coverage gate: coverage.py's static analysis of files, as JSON.

Usage: ``python -m pytest_phase7.gates._coverage_worker --exclude RE --partial RE [--arcs]
-- FILE...``

Runs while the tests run, out of process so that parsing does not hold the test session's GIL
(see :mod:`pytest_phase7.gates.coverage_static`). Output on stdout:
``{"coverage": VERSION, "files": {FILE: ANALYSIS | {"error": "..."}}}``; a usage error exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any


def analyse(argv: Sequence[str]) -> dict[str, Any]:
    """Analyse the files named in ``argv`` and return the JSON document."""
    import coverage  # noqa: PLC0415

    from pytest_phase7.gates.coverage_static import StaticSpec, analyse_file  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="_coverage_worker")
    parser.add_argument("--exclude", required=True)
    parser.add_argument("--partial", required=True)
    parser.add_argument("--arcs", action="store_true")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    spec = StaticSpec(args.exclude, args.partial, args.arcs, coverage.__version__, sys.version)
    files: dict[str, Any] = {}
    for path in args.files:
        try:
            files[path] = analyse_file(path, spec).to_json()
        except Exception as exc:  # noqa: BLE001 - one bad file must not cost the others
            files[path] = {"error": f"{type(exc).__name__}: {exc}"}
    return {"coverage": coverage.__version__, "spec": spec.key, "files": files}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry (see the module docstring)."""
    document = analyse(sys.argv[1:] if argv is None else argv)
    json.dump(document, sys.stdout)
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a subprocess
    sys.exit(main())
