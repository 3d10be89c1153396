"""Where phase7 may write: the one path policy of ``pytest --phase7`` and the ``phase7`` command.

Reports (Markdown, JSON, the re-rendered text of ``phase7 report``), the history, the baseline
and the plan ``phase7 init`` scaffolds are written to paths a person or the repository names. A
wrong path must not cost anything, so a path is refused, before anything runs, when it

* comes from the repository's own configuration (``[tool.phase7]``, ``phase7.toml``, the pytest
  ini file, including its ``addopts``) and resolves (symlinks followed) outside the rootdir or
  into its ``.git`` folder; a path given on the command line goes wherever the user says;
* is the plan itself, the pytest ini file or coverage configuration the run reads, a file named
  like a configuration file some tool of the run reads (:data:`CONFIG_NAMES`), or a Python source
  (:data:`SOURCE_SUFFIXES`), whether it exists or not;
* is an existing folder, device or FIFO, or an existing file that is not one phase7 wrote of
  that kind, recognised by its content (:func:`is_own_file`). An empty file may be replaced:
  nothing is lost, and it is what ``mktemp`` or ``touch`` leave for a report to go to;
* is also the path of another output of the same run.

``$GITHUB_STEP_SUMMARY`` is the CI environment's file, appended to as it is: not checked here.
"""

from __future__ import annotations

import enum
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_phase7.errors import ConfigError
from pytest_phase7.files import reason, usable_path

if TYPE_CHECKING:
    from pytest_phase7.resolve import Resolution


class OutputKind(enum.Enum):
    """What phase7 writes to a path (the value names it in messages)."""

    MARKDOWN = "Markdown report"
    JSON = "JSON report"
    TEXT = "text report"
    HISTORY = "history file"
    BASELINE = "baseline"
    PLAN = "plan"
    SARIF = "SARIF file"
    CODE_QUALITY = "Code Quality report"


#: Files some tool of a run reads its configuration from (pytest, coverage.py, ruff, mypy,
#: interrogate, setuptools, phase7): never an output, in any folder, existing or not.
CONFIG_NAMES = frozenset(
    {
        "pyproject.toml",
        "setup.cfg",
        "setup.py",
        "tox.ini",
        "pytest.ini",
        ".pytest.ini",
        "conftest.py",
        ".coveragerc",
        "phase7.toml",
        "ruff.toml",
        ".ruff.toml",
        "mypy.ini",
        ".mypy.ini",
    }
)

#: Suffixes of Python sources (targets, tests, conftests): never an output.
SOURCE_SUFFIXES = frozenset({".py", ".pyi", ".pyw"})

#: How much of an existing file is read to recognise it.
_HEAD_BYTES = 4096

# How each kind of file phase7 writes begins (report_md.MARKER, report_json.dumps,
# history.entry_to_json, baseline.write_baseline, sarif.dumps with its generator property,
# codeclimate.dumps with each issue's engine_name first, or an empty array); tests write each
# and check it is recognised.
_OWN_HEADS: dict[OutputKind, re.Pattern[bytes]] = {
    OutputKind.MARKDOWN: re.compile(rb"<!-- phase7-report -->\n"),
    OutputKind.JSON: re.compile(rb'\{\s*"schema_version":\s*\d+,\s*"generator":\s*"pytest-phase7 '),
    OutputKind.HISTORY: re.compile(rb'\{\s*"format"\s*:\s*\d'),
    OutputKind.BASELINE: re.compile(rb'\{\s*"schema_version":\s*\d+,\s*"metrics":\s*\{'),
    OutputKind.SARIF: re.compile(
        rb'\{\s*"\$schema":\s*"[^"]*sarif[^"]*",\s*"version":\s*"2\.1\.0",\s*'
        rb'"properties":\s*\{\s*"generator":\s*"pytest-phase7 '
    ),
    OutputKind.CODE_QUALITY: re.compile(rb'\[\s*(\]\s*\Z|\{\s*"engine_name":\s*"pytest-phase7")'),
}

# The last line of the terminal report (``phase7 report --format term``) is its verdict.
_TEXT_VERDICT = re.compile(rb"(?:\A|\n)phase7: [^\n]*\n?\Z")


@dataclass(frozen=True)
class OutputRequest:
    """One path a run is asked to write (or, ``writes=False``, only to read).

    ``given`` is the setting as the user wrote it, for messages (``--phase7-md=r.md``,
    ``[tool.phase7] md = '../r.md'``); ``file`` and ``line`` say where a repository setting sits.
    A relative ``value`` is relative to ``base``.
    """

    value: str
    kind: OutputKind
    given: str
    base: Path
    from_repository: bool
    writes: bool = True
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Outputs:
    """The checked paths a run writes (and its baseline, read even when not written)."""

    md: Path | None = None
    json: Path | None = None
    history: Path | None = None
    baseline: Path | None = None
    sarif: Path | None = None
    codeclimate: Path | None = None


def protected_files(
    rootdir: Path,
    manifest_path: str,
    resolutions: Iterable[Resolution] = (),
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """What no output may be, for :func:`check_outputs`: the plan, every target and its files.

    ``manifest_path`` is the manifest's path as loaded (rootdir-relative or absolute); ``extra``
    adds more files (the ini file) with what they are. The plan and ``extra`` come back as
    resolved absolute paths, the targets (thousands, maybe) as the resolver's rootdir-relative
    POSIX paths, so that checking costs no file system call per target.
    """
    protected: dict[str, str] = {}
    for resolution in resolutions:
        what = f"a target of the plan (item {resolution.item.number})"
        target = resolution.target
        if target is not None:
            protected.setdefault(target.ref.rstrip("/"), what)
            for file in target.files:
                protected.setdefault(file, what)
        elif resolution.item.target:
            protected.setdefault(resolution.item.target.strip("/"), what)
    named = {manifest_path: f"the plan ({manifest_path})", **(extra or {})}
    for key, what in named.items():
        path = Path(key)
        try:
            protected[str((path if path.is_absolute() else rootdir / path).resolve())] = what
        except (OSError, RuntimeError, ValueError):
            continue
    return protected


def check_outputs(
    requests: Sequence[OutputRequest],
    rootdir: Path,
    protected: Mapping[str, str] | None = None,
) -> list[Path]:
    """The resolved path of each request, in order; a :class:`ConfigError` for the first refused.

    ``protected`` maps files that are never an output (resolved absolute paths, or
    rootdir-relative POSIX paths: :func:`protected_files`) to what they are.
    """
    root = rootdir.resolve()
    paths: list[Path] = []
    written: dict[Path, OutputRequest] = {}
    for request in requests:
        path = check_output(request, root, protected or {})
        if request.writes:
            other = written.get(path)
            if other is not None:
                raise _refused(
                    request, f"is also where {other.given} writes; give each its own file"
                )
            written[path] = request
        paths.append(path)
    return paths


def check_output(request: OutputRequest, rootdir: Path, protected: Mapping[str, str]) -> Path:
    """The resolved path of one request (``rootdir`` resolved, ``protected`` as above)."""
    try:
        path = usable_path(request.base / request.value)
    except OSError as exc:  # a symlink loop, a name too long, a NUL byte
        raise _refused(request, f"cannot be used: {reason(exc)}") from None
    if request.from_repository:
        inside = path == rootdir or path.is_relative_to(rootdir)
        if not inside:
            raise _refused(
                request,
                f"resolves outside the rootdir {rootdir}: a path from the repository's "
                "configuration stays inside it (give it on the command line to write elsewhere)",
            )
        if ".git" in path.relative_to(rootdir).parts:
            raise _refused(request, "is inside the .git folder")
    if not request.writes:
        return path
    what = protected.get(str(path))
    if what is None and path.is_relative_to(rootdir):
        what = protected.get(path.relative_to(rootdir).as_posix())
    if what is not None:
        raise _refused(request, f"is {what}; choose another path")
    # phase7.toml is a configuration file, and also where `phase7 init -o` puts a TOML plan.
    if path.name in CONFIG_NAMES and (request.kind, path.name) != (OutputKind.PLAN, "phase7.toml"):
        raise _refused(request, "is a configuration file a run reads; choose another path")
    if path.suffix.lower() in SOURCE_SUFFIXES:
        raise _refused(request, "is a Python source file; choose another path")
    try:
        info = path.stat()
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise _refused(request, f"cannot write: no folder {path.parent}") from None
        return path
    except OSError as exc:
        raise _refused(request, f"cannot be checked ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise _refused(request, "is a folder")
    if not stat.S_ISREG(info.st_mode):
        raise _refused(request, "is not a regular file")
    if info.st_size and not is_own_file(path, request.kind):
        raise _refused(
            request,
            f"is an existing file that is not a phase7 {request.kind.value}; phase7 replaces "
            "only its own files (remove it or choose another path)",
        )
    return path


def is_own_file(path: Path, kind: OutputKind) -> bool:
    """Whether the (non-empty, regular) file at ``path`` is one phase7 wrote as ``kind``.

    Recognised by how it begins (Markdown report: its hidden marker; JSON report: its
    ``schema_version`` and ``generator``; history: a run's line; baseline: its schema), a text
    report by its last line (the verdict), a plan by loading it (a Markdown report is not one).
    Unreadable means no.
    """
    if kind is OutputKind.PLAN:
        from pytest_phase7.errors import ManifestError  # noqa: PLC0415
        from pytest_phase7.manifest import load_manifest  # noqa: PLC0415

        # A Markdown report has the plan's shape, but it is no plan.
        if is_own_file(path, OutputKind.MARKDOWN):
            return False
        try:
            load_manifest(path)
        except ManifestError:
            return False
        return True
    try:
        with path.open("rb") as handle:
            if kind is OutputKind.TEXT:
                handle.seek(max(0, os.fstat(handle.fileno()).st_size - _HEAD_BYTES))
                return _TEXT_VERDICT.search(handle.read(_HEAD_BYTES)) is not None
            head = handle.read(_HEAD_BYTES)
    except OSError:
        return False
    return _OWN_HEADS[kind].match(head) is not None


def _refused(request: OutputRequest, reason: str) -> ConfigError:
    given = request.given
    if len(given) > _GIVEN_LIMIT:  # a 5,000-character path must not make a 5,000-character line
        half = (_GIVEN_LIMIT - 1) // 2
        given = f"{given[:half]}…{given[-half:]} ({len(request.given)} characters)"
    return ConfigError(f"{given}: {reason}", request.file, request.line)


#: How much of what the user gave a refusal repeats; the rest is cut in the middle.
_GIVEN_LIMIT = 120
