"""Static gate results cached across runs in pytest's cache, keyed by all that can change them.

A gate opts in by declaring a :class:`CachePolicy` as its ``cache_policy`` attribute. The key (a
SHA-256 fingerprint) covers: the gate and phase7's version; the installed versions of the tool's
distributions and the Python that runs it; every phase7 setting; the targets; the content of the
target files (or, for a gate whose answer depends on the whole project such as mypy, of every
Python file in the project and the list of installed distributions); the content of every config
file the tools read, from each target's folder up to the filesystem root and the user's config
folders; the environment variables the tools read; and whatever else each tool reads, as its
policy's ``inputs`` finds it (:mod:`pytest_phase7.gates.tool_inputs`: ``extend`` chains, config
files named in the tool's arguments, search paths, first-party detection). Change any of them and
the result is computed again; a gate with an input that cannot be known is not cached. Only the
last result per gate is kept. ``--cache-clear`` empties the cache; ``-p no:cacheprovider`` turns
caching off.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from pytest_phase7 import __version__
from pytest_phase7.files import read_regular
from pytest_phase7.gates.base import (
    Gate,
    GateRequest,
    GateResult,
    GateRun,
    GateStatus,
    result_from_json,
    result_to_json,
)
from pytest_phase7.gates.tools import environ_now
from pytest_phase7.settings import Settings

#: Files whose content configures ruff, mypy or interrogate (searched in every ancestor folder).
CONFIG_NAMES = (
    "pyproject.toml",
    "setup.cfg",
    "tox.ini",
    "ruff.toml",
    ".ruff.toml",
    "mypy.ini",
    ".mypy.ini",
)

#: User-level configuration the tools read (also below ``$XDG_CONFIG_HOME`` when it is set).
USER_CONFIGS = (
    "~/.config/ruff/ruff.toml",
    "~/.config/ruff/.ruff.toml",
    "~/.config/ruff/pyproject.toml",
    "~/.config/mypy/config",
    "~/.mypy.ini",
)


def user_configs() -> list[Path]:
    """The user-level config files the tools may read, whether or not they exist."""
    paths = [Path(os.path.expanduser(p)) for p in USER_CONFIGS]
    home = os.environ.get("XDG_CONFIG_HOME")
    if home:
        paths += [Path(home) / p.removeprefix("~/.config/") for p in USER_CONFIGS[:4]]
    return paths


#: Environment variables (or prefixes) that change what the tools report.
ENV_PREFIXES = ("RUFF_", "MYPY", "PYTHONPATH", "XDG_CONFIG_HOME", "INTERROGATE")

CACHE_FORMAT = 4

#: Settings that decide what is done with the results (reports, the plan, the merge policy,
#: which gates run) or which tests run, never what a static gate finds: left out of the key, so
#: that ``pytest --phase7 --phase7-json=a.json`` and ``phase7 gate --json b.json`` share results.
#: ``targets`` (the ``[tool.phase7.targets]`` entries, with their file and line) decides which
#: files are targets, and those are in the key themselves. Every other setting, including any
#: added later, is part of it.
REPORT_ONLY_SETTINGS = frozenset(
    {
        "enabled",
        "manifest",
        "gates",
        "fail_on",
        "baseline",
        "baseline_update",
        "baseline_tolerance",
        "md",
        "json",
        "sarif",
        "codeclimate",
        "annotations",
        "diff_coverage_min",
        "step_summary",
        "update_manifest",
        "update_manifest_force",
        "changed_since",
        "history",
        "hourly_rate",
        "targets",
        "suite",
    }
)


def gate_settings(settings: Settings) -> tuple[tuple[str, object], ...]:
    """The settings that can change a gate's results, by name (see :data:`REPORT_ONLY_SETTINGS`)."""
    return tuple(
        (f.name, getattr(settings, f.name))
        for f in dataclasses.fields(settings)
        if f.name not in REPORT_ONLY_SETTINGS
    )


@dataclass(frozen=True)
class ToolInputs:
    """What a tool reads beyond the targets and the config files in their folders.

    ``files`` key the result by their bytes (a missing one by its absence); ``facts`` are other
    things it depends on, as text (which folders hold which modules). ``unknown`` says why some
    input cannot be known: then the gate is not cached at all.
    """

    files: tuple[Path, ...] = ()
    facts: tuple[str, ...] = ()
    unknown: str = ""


@dataclass(frozen=True)
class CachePolicy:
    """How a gate's results may be cached.

    ``distributions`` are the packages whose installed versions key the result; ``whole_project``
    says whether files beyond the targets can change the answer (mypy follows imports);
    ``inputs`` finds the tool's other inputs for a request (:mod:`pytest_phase7.gates.tool_inputs`).
    """

    distributions: tuple[str, ...]
    whole_project: bool = False
    inputs: Callable[[GateRequest, FileDigests], ToolInputs] | None = None


def policy_of(gate: Gate) -> CachePolicy | None:
    """The gate's cache policy, or None for a gate that does not declare one (not cached)."""
    policy: CachePolicy | None = getattr(gate, "cache_policy", None)
    return policy


class ResultStore(Protocol):
    """Where cached runs live (pytest's ``config.cache`` satisfies this)."""

    def get(self, key: str, default: object) -> object:
        """The stored value, or ``default``."""
        ...  # pragma: no cover

    def set(self, key: str, value: object) -> None:
        """Store a JSON-serialisable value."""
        ...  # pragma: no cover


def _version(distribution: str) -> str:
    """The installed version of ``distribution`` (``missing`` when it is not installed).

    Read from the name of its ``NAME-VERSION.dist-info`` folder, the first install record of it
    on ``sys.path`` (the one ``importlib.metadata`` finds first): that name carries the version
    by the wheel and installed-packages specifications, and listing a folder costs a fraction of
    parsing the distribution's ``METADATA`` at every session start. Any other first record (an
    ``.egg-info``, a folder name without a version) is asked through ``importlib.metadata``.
    """
    wanted = _normalised(distribution)
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue  # zip files, missing folders: nothing installed there
        for name in names:
            stem, dot, kind = name.rpartition(".")
            if not dot or kind not in ("dist-info", "egg-info", "egg-link"):
                continue
            project, dash, version = stem.partition("-")
            if _normalised(project) != wanted:
                continue
            if kind == "dist-info" and dash and version and "-" not in version:
                return version
            return _metadata_version(distribution)
    return _metadata_version(distribution)


def _normalised(name: str) -> str:
    """A distribution name as PEP 503 compares them (``Foo.Bar_baz`` -> ``foo-bar-baz``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _metadata_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


class FileDigests:
    """Each file's SHA-256 and each file set's config files, computed once per run.

    The gates' fingerprints at session start share most of their inputs (mypy's covers every
    project file, ruff's and interrogate's the targets among them, all the same config files):
    one instance, shared by them, reads and hashes each file once. Made anew for every run,
    so a file edited between runs is always read again.
    """

    def __init__(self) -> None:
        """Nothing known yet."""
        self._digests: dict[str, bytes] = {}
        self._configs: dict[tuple[str, frozenset[str]], list[Path]] = {}
        #: Config files read and parsed by the gates' input finders, once per run.
        self.parsed: dict[tuple[str, str], object] = {}

    def of(self, path: Path) -> bytes:
        """The SHA-256 of ``path``'s bytes, or a marker naming why it cannot be read."""
        name = str(path)
        known = self._digests.get(name)
        if known is None:
            try:
                # Not read_bytes: a FIFO or device among the inputs must not block the run.
                known = hashlib.sha256(read_regular(path)).digest()
            except OSError as exc:
                known = f"<unreadable: {exc.errno}: {exc.strerror}>".encode()
            self._digests[name] = known
        return known

    def config_files(self, rootdir: Path, files: Iterable[str]) -> list[Path]:
        """:func:`config_files`, once per file set."""
        key = (str(rootdir), frozenset(files))
        found = self._configs.get(key)
        if found is None:
            found = self._configs[key] = config_files(rootdir, key[1])
        return found


def _hash_file(update: Callable[[bytes], object], path: Path, digests: FileDigests) -> None:
    update(str(path).encode("utf-8", "surrogateescape") + b"\0" + digests.of(path) + b"\0")


#: Names on ``sys.path`` that record an installed distribution (its name and version).
_INSTALL_RECORDS = (".dist-info", ".egg-info", ".egg-link", ".pth")


def installed_listing() -> list[str]:
    """What is installed for this Python: the install records in every ``sys.path`` folder.

    A ``NAME-VERSION.dist-info`` entry changes with every install, upgrade or removal, so the
    listing stands for the installed packages in a cache key, for a directory listing per path
    entry rather than a read of every distribution's metadata.
    """
    listing: list[str] = []
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue  # zip files, missing folders: nothing installed there
        listing += (f"{entry}:{name}" for name in sorted(names) if name.endswith(_INSTALL_RECORDS))
    return listing


def config_files(rootdir: Path, files: Iterable[str]) -> list[Path]:
    """Every config file that can apply to ``files``: in each folder from theirs up to ``/``."""
    folders: set[Path] = {rootdir.resolve()}
    # Resolve each folder once, not each file (a warm run does this in a gate thread).
    for name in {os.path.dirname(rel) for rel in files}:
        folders.add((rootdir / name).resolve())
    root = str(rootdir)  # string joins: a Path per file costs more than the check itself
    for rel in files:
        full = os.path.join(root, rel)
        if os.path.islink(full):  # a symlinked file: its real folder's configs too
            folders.add(Path(os.path.realpath(full)).parent)
    seen: set[Path] = set()
    for folder in sorted(folders):
        for ancestor in (folder, *folder.parents):
            if ancestor in seen:
                break
            seen.add(ancestor)
    found = [folder / name for folder in sorted(seen) for name in CONFIG_NAMES]
    found += user_configs()
    return [path for path in found if path.is_file()]


def fingerprint(
    gate: Gate,
    policy: CachePolicy,
    request: GateRequest,
    project_files: Sequence[str],
    digests: FileDigests | None = None,
    *,
    inputs: ToolInputs | None = None,
) -> str:
    """The cache key of one gate run (see the module docstring for what it covers).

    ``digests`` shares file hashes between the fingerprints of one run; ``inputs`` are the
    tool's other inputs (:attr:`CachePolicy.inputs`).
    """
    if digests is None:
        digests = FileDigests()
    digest = hashlib.sha256()
    env = sorted((k, v) for k, v in environ_now().items() if k.startswith(ENV_PREFIXES))
    head = [
        f"format={CACHE_FORMAT}",
        f"phase7={__version__}",
        f"gate={gate.name}",
        f"class={type(gate).__module__}.{type(gate).__qualname__}",
        f"python={sys.version}",
        f"executable={sys.executable}",
        *(f"{d}={_version(d)}" for d in policy.distributions),
        f"settings={gate_settings(request.settings)!r}",
        f"env={env!r}",
        f"targets={[(t.ref, t.files) for t in request.targets]!r}",
    ]
    digest.update("\n".join(head).encode("utf-8", "surrogateescape"))
    files = sorted({f for t in request.targets for f in t.files})
    if policy.whole_project:
        files = sorted(set(files) | set(project_files))
        digest.update("\n".join(installed_listing()).encode("utf-8", "surrogateescape"))
    for rel in files:
        _hash_file(digest.update, request.rootdir / rel, digests)
    for path in digests.config_files(request.rootdir, files):
        _hash_file(digest.update, path, digests)
    if inputs is not None:
        for path in inputs.files:
            _hash_file(digest.update, path, digests)
        digest.update("\n".join(inputs.facts).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def run_to_json(run: GateRun) -> dict[str, Any]:
    """A gate run as JSON-able data."""
    return {
        "gate": run.gate,
        "tool_version": run.tool_version,
        "seconds": run.seconds,
        "context": list(run.context),
        "blocking": list(run.blocking),
        "results": {ref: result_to_json(result) for ref, result in run.results.items()},
    }


def run_from_json(data: Mapping[str, Any]) -> GateRun:
    """Rebuild a :class:`GateRun` from :func:`run_to_json` data (``ValueError`` if malformed)."""
    try:
        results = {str(ref): result_from_json(r) for ref, r in data["results"].items()}
        return GateRun(
            gate=str(data["gate"]),
            results=results,
            tool_version=str(data["tool_version"]),
            seconds=float(data["seconds"]),
            context=tuple(str(c) for c in data["context"]),
            blocking=tuple(str(b) for b in data["blocking"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"malformed cached gate run: {exc}") from None


#: How a gate run that was not cached because of an unknown input says so (``GateRun.context``).
NOT_CACHED = "not cached: "


@dataclass(frozen=True)
class CacheLookup:
    """What the cache knows about one gate run: its key (None: not cached) and a stored hit.

    ``uncached`` says why a gate that is cached otherwise is not this time (an input that
    cannot be known).
    """

    key: str | None
    hit: GateRun | None = None
    uncached: str = ""


def lookup(
    gate: Gate,
    request: GateRequest,
    store: ResultStore | None,
    project_files: Sequence[str],
    digests: FileDigests | None = None,
) -> CacheLookup:
    """Fingerprint the run and return the stored result when the fingerprint matches."""
    policy = policy_of(gate)
    if store is None or policy is None:
        return CacheLookup(None)
    started = time.perf_counter()
    if digests is None:
        digests = FileDigests()
    inputs = None
    if policy.inputs is not None:
        try:
            inputs = policy.inputs(request, digests)
        except Exception as exc:  # noqa: BLE001 - finding inputs must never stop the run
            inputs = ToolInputs(unknown=f"finding its inputs failed: {type(exc).__name__}: {exc}")
        if inputs.unknown:
            return CacheLookup(None, uncached=inputs.unknown)
    current = fingerprint(gate, policy, request, project_files, digests, inputs=inputs)
    stored = store.get(_key(gate), None)
    if isinstance(stored, dict) and stored.get("fingerprint") == current:
        try:
            hit = run_from_json(stored["run"])
        except ValueError:
            return CacheLookup(current)
        marked = {ref: replace(r, cached=True) for ref, r in hit.results.items()}
        return CacheLookup(
            current, replace(hit, results=marked, seconds=time.perf_counter() - started)
        )
    return CacheLookup(current)


def cached_run(
    gate: Gate,
    request: GateRequest,
    store: ResultStore | None,
    project_files: Sequence[str],
    runner: Callable[[Gate, GateRequest], GateRun],
    *,
    looked_up: CacheLookup | None = None,
) -> GateRun:
    """Return the stored run when its fingerprint matches; else run (via ``runner``) and store.

    ``looked_up`` is a :func:`lookup` made earlier for the same request. Only runs without
    ERROR results are stored: a tool that could not measure is asked again.
    """
    found = looked_up if looked_up is not None else lookup(gate, request, store, project_files)
    if found.hit is not None:
        return found.hit
    fresh = runner(gate, request)
    if store is not None and found.key is not None and storable(fresh):
        store.set(_key(gate), {"fingerprint": found.key, "run": run_to_json(fresh)})
    return fresh


def storable(run: GateRun) -> bool:
    """Whether :func:`cached_run` stores a fresh run: one with no ERROR result."""
    return not any(r.status is GateStatus.ERROR for r in run.results.values())


def _key(gate: Gate) -> str:
    return f"phase7/gates/{gate.name}"


def last_results(store: ResultStore | None, gate: str) -> dict[str, GateResult]:
    """The last known result of every target this gate ever checked (for changed-only mode)."""
    if store is None:
        return {}
    return _results_of(store.get(f"phase7/last/{gate}", None), gate)


def _results_of(stored: object, gate: str) -> dict[str, GateResult]:
    if not isinstance(stored, dict):
        return {}
    try:
        return dict(run_from_json({**stored, "gate": gate}).results)
    except ValueError:
        return {}


def remember(
    store: ResultStore | None,
    run: GateRun,
    key: str | None = None,
    *,
    stored_as: str | None = None,
) -> None:
    """Merge a run's results (not its ERRORs) into the gate's last known results.

    ``key`` is given for a cache hit only: the fingerprint of the stored run it returned. When
    the last merge was of that same stored run, its results are merged already, and nothing is
    read or written. A fresh run (``key`` None) is always merged: one under a known fingerprint
    may differ from the stored run, e.g. where a failed tool's ERRORs were left out.
    ``stored_as`` is the fingerprint a fresh run was just stored under (:func:`cached_run`):
    the merge records it, so the next run's hit of that stored run merges and writes nothing.
    """
    if store is None or not run.results:
        return
    stored = store.get(f"phase7/last/{run.gate}", None)
    merged_from = stored.get("merged_from") if isinstance(stored, dict) else None
    if key is not None and merged_from == key:
        return
    known = _results_of(stored, run.gate)
    merged = {
        **known,
        **{
            ref: replace(r, cached=False, carried=False)
            for ref, r in run.results.items()
            if r.status is not GateStatus.ERROR
        },
    }
    recorded = key if key is not None else stored_as
    if merged == known and key is None and (stored_as is None or merged_from == stored_as):
        # Nothing new from a fresh run; the document still holds the hit it was merged from.
        return  # (a hit with nothing new is written once, to record its key)
    document = run_to_json(GateRun(run.gate, merged, tool_version=run.tool_version))
    store.set(f"phase7/last/{run.gate}", {**document, "merged_from": recorded})
