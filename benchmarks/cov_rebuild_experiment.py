"""Experiment (issue 16, the helper process): can another process rebuild pytest-cov's figures?

Usage (real projects of ``realrun.py``; each is checked out fresh)::

    .venv/bin/python benchmarks/cov_rebuild_experiment.py --projects idna,toolz,click,attrs

A helper process doing phase7's work outside the test process would get the session's
coverage from pytest-cov's data file, not from the live ``coverage.Coverage`` object the
coverage gate reads in-process. This runs each project's own cases (serial, ``-n 2``, their
``addopts``) under ``pytest --cov --cov-report=`` with a probe that, once pytest-cov has
combined the data (``pytest_sessionfinish``), writes pytest-cov's own ``cov.report()`` text
and then starts a fresh Python that builds ``coverage.Coverage`` from what pytest-cov was
given (``--cov`` sources, ``--cov-branch``, ``--cov-config``) and the data file's name, loads
it and reports. It prints, per project and case, whether the two reports are identical, and
the first differing line if not. Nothing is written to RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

from realrun import all_projects, prepare

PROBE = r'''
import json, os, subprocess, sys
import pytest

REBUILD = """
import io, json, sys
import coverage
given = json.loads(sys.argv[1])
cov = coverage.Coverage(
    data_file=given["data_file"], source=given["source"], branch=given["branch"],
    config_file=given["config_file"],
)
cov.load()
out = io.StringIO()
try:
    cov.report(file=out, show_missing=True)
except coverage.exceptions.NoDataError as exc:
    out.write(f"no data: {exc}")
sys.stdout.write(out.getvalue())
"""


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    import io
    import coverage
    plugin = session.config.pluginmanager.getplugin("_cov")
    controller = getattr(plugin, "cov_controller", None)
    if controller is None or getattr(session.config, "workerinput", None) is not None:
        return
    cov = controller.cov
    # Before reporting: a report can replace the data object (an in-memory one, for instance).
    data_file = cov.get_data().data_filename()
    own = io.StringIO()
    try:
        cov.report(file=own, show_missing=True)
    except coverage.exceptions.NoDataError as exc:
        own.write(f"no data: {exc}")
    given = {
        "data_file": data_file,
        "source": controller.cov_source,
        "branch": controller.cov_branch,
        "config_file": controller.cov_config,
    }
    rebuilt = subprocess.run(
        [sys.executable, "-c", REBUILD, json.dumps(given)],
        capture_output=True, text=True, check=False,
    )
    with open(os.environ["PHASE7_REBUILD_OUT"], "w", encoding="utf-8") as out:
        json.dump(
            {"own": own.getvalue(), "rebuilt": rebuilt.stdout, "error": rebuilt.stderr[-2000:],
             "given": given},
            out,
        )
'''


def main() -> int:
    """Run each project's cases and compare the two reports."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", default="idna,toolz,click,attrs")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "phase7-rebuild"
    )
    args = parser.parse_args()
    known = all_projects()
    logdir = args.workdir / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as probe_dir:
        (Path(probe_dir) / "phase7_rebuild_probe.py").write_text(PROBE, encoding="utf-8")
        out = Path(probe_dir) / "reports.json"
        for name in args.projects.split(","):
            prepared = prepare(known[name], args.workdir, logdir)
            env = dict(prepared.env)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [probe_dir, env.get("PYTHONPATH")]))
            env["PHASE7_REBUILD_OUT"] = str(out)
            python = str(prepared.venv / "bin" / "python")
            cases = [(case.id, list(case.args)) for case in prepared.project.cases]
            if not any("-n" in extra for _, extra in cases):
                cases.append(("xdist", ["-n", "2"]))
            for case, extra in cases:
                out.unlink(missing_ok=True)
                argv = [python, "-m", "pytest", "-q", "-p", "phase7_rebuild_probe", "--cov"]
                subprocess.run(
                    [*argv, "--cov-report=", *extra],
                    cwd=prepared.root,
                    env=env,
                    capture_output=True,
                    check=False,
                )
                if not out.is_file():
                    print(f"{name} [{case}]: no report (the probe did not run)")
                    continue
                found = json.loads(out.read_text(encoding="utf-8"))
                own, rebuilt = found["own"].splitlines(), found["rebuilt"].splitlines()
                total = own[-1] if own else ""
                if own == rebuilt:
                    print(f"{name} [{case}]: identical ({len(own)} lines; {total.split()})")
                    continue
                differing = next(
                    (pair for pair in zip(own, rebuilt, strict=False) if pair[0] != pair[1]),
                    (own[len(rebuilt)] if len(own) > len(rebuilt) else "", ""),
                )
                print(f"{name} [{case}]: DIFFERENT: {differing} {found['error'][-300:]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
