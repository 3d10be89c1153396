"""Did this test session run the project's whole suite, or narrow it? Decided on plain data.

The suite is what the project's own configuration collects: the test paths it declares for
phase7 (``phase7_suite``), else the paths in its ini file's ``addopts``, its ``testpaths``, or the
rootdir; filtered by that ``addopts`` (``-m 'not stress'``, ``-k``, ``--deselect``, ``--ignore``),
its ``norecursedirs`` and its conftests (``collect_ignore``, deselecting hooks). The tests those
leave out are not a narrowing: they are not in the suite.

A run narrows the suite by what this invocation adds on top, on the command line or in
``PYTEST_ADDOPTS``: a ``-k`` or ``-m`` other than the ini's, ``--deselect``, ``--ignore``,
``--ignore-glob``, ``-o`` replacing a key that defines the suite, node ids, paths that collect
less (or more) than the suite, ``--lf`` with failures recorded, ``--sw`` skipping tests, an
installed plugin deselecting tests, a session stopped early (``-x``/``--maxfail``). ``--ff`` and
``--nf`` only reorder. :mod:`pytest_phase7.session` gathers these facts from pytest's objects.
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Protocol

from pytest_phase7.wording import shown_list

#: ini keys that define what the suite collects: ``-o KEY=...`` on the command line replaces the
#: project's suite with another one.
SUITE_INI_KEYS = frozenset(
    {"addopts", "testpaths", "norecursedirs", "python_files", "python_classes", "python_functions"}
)

#: Who deselected tests (:func:`deselector`): pytest's ``-k``, ``-m`` and ``--deselect``, its
#: last-failed and stepwise plugins, or a conftest of the project; else ``"plugin NAME"``.
BY_KEYWORD = "-k"
BY_MARK = "-m"
BY_DESELECT = "--deselect"
BY_LAST_FAILED = "--lf"
BY_STEPWISE = "--sw"
BY_PROJECT = "conftest"
BY_PLUGIN = "plugin "

#: Sources whose deselections belong to the suite once the options they obey are the ini's.
_SUITE_SOURCES = frozenset({BY_KEYWORD, BY_MARK, BY_DESELECT, BY_PROJECT})

#: Modules between a plugin calling ``pytest_deselected`` and phase7's own hook.
_HOOK_MACHINERY = ("pluggy", "_pytest.config.compat", "pytest_phase7")

STOPPED = "the session stopped early (-x / --maxfail)"
INTERRUPTED = "the session was interrupted before the tests ran (collection errors?)"

#: Where the suite's paths come from (:attr:`Suite.origin`), when the project declares none.
ORIGIN_ADDOPTS = "addopts"
ORIGIN_TESTPATHS = "testpaths"
ORIGIN_ROOTDIR = "the rootdir"

#: pytest's own list (``running_on_ci``): a non-empty one means a CI job.
_CI_VARIABLES = ("CI", "BUILD_NUMBER")


@dataclass(frozen=True)
class Choices:
    """The selection options one source of arguments sets, by pytest's own ``dest`` names."""

    keyword: str = ""
    markexpr: str = ""
    deselect: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    ignore_glob: tuple[str, ...] = ()
    override_ini: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    phase7: bool = False

    @classmethod
    def of(cls, namespace: object) -> Choices:
        """What an ``argparse.Namespace`` (a parse, or ``config.option``) holds."""

        def texts(name: str) -> tuple[str, ...]:
            return tuple(str(value) for value in getattr(namespace, name, None) or ())

        return cls(
            keyword=str(getattr(namespace, "keyword", "") or ""),
            markexpr=str(getattr(namespace, "markexpr", "") or ""),
            deselect=texts("deselect"),
            ignore=texts("ignore"),
            ignore_glob=texts("ignore_glob"),
            override_ini=texts("override_ini"),
            paths=texts("file_or_dir"),
            phase7=bool(getattr(namespace, "phase7", False)),
        )


@dataclass(frozen=True)
class Invocation:
    """The options in force (``final``) and what each source of arguments set on its own.

    pytest reads the ini file's ``addopts`` first, then ``PYTEST_ADDOPTS``, then the command line;
    for ``-k`` and ``-m`` the last one wins, ``--deselect``/``--ignore``/``-o`` add up.
    """

    final: Choices
    ini: Choices = field(default_factory=Choices)
    env: Choices = field(default_factory=Choices)
    cli: Choices = field(default_factory=Choices)

    @property
    def explicit(self) -> bool:
        """This invocation asked for phase7 (``--phase7`` or ``-o phase7=...``), not the config."""
        return self.cli.phase7 or self.env.phase7 or "phase7" in self.overridden()

    def _where(self, name: str) -> str:
        if not getattr(self.cli, name) and getattr(self.env, name):
            return " (in PYTEST_ADDOPTS)"
        return ""

    def overridden(self) -> frozenset[str]:
        """The ini keys this invocation replaces with ``-o KEY=...``."""
        given = (*self.cli.override_ini, *self.env.override_ini)
        return frozenset(override.partition("=")[0].strip() for override in given)

    def narrowing(self) -> str:
        """How this invocation's options change the project's selection ('' when they do not)."""
        for source, where in ((self.cli, ""), (self.env, " (in PYTEST_ADDOPTS)")):
            for override in source.override_ini:
                key = override.partition("=")[0].strip()
                if key in SUITE_INI_KEYS:
                    return f"-o {override}{where} replaces the project's {key}"
        for name, flag in (("keyword", "-k"), ("markexpr", "-m")):
            now, own = getattr(self.final, name), getattr(self.ini, name)
            if now != own:
                where = self._where(name)
                if own:
                    return f"{flag} {now!r}{where} replaces the project's {flag} {own!r}"
                return f"tests were selected with {flag} {now!r}{where}"
        for name, flag, verb in (
            ("deselect", "--deselect", "deselected"),
            ("ignore", "--ignore", "ignored"),
            ("ignore_glob", "--ignore-glob", "ignored"),
        ):
            own = set(getattr(self.ini, name))
            added = [value for value in getattr(self.final, name) if value not in own]
            if added:
                more = f" and {len(added) - 1} more" if len(added) > 1 else ""
                return f"tests were {verb} with {flag} {added[0]}{more}{self._where(name)}"
        return ""


@dataclass(frozen=True)
class Facts:
    """What the session did, beyond its options: stopped early, the cache, who deselected.

    ``stopped`` says why the session ended before its last test ('' when it did not).
    """

    stopped: str = ""
    last_failed: bool = False
    collected: int = 0
    deselected: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Suite:
    """The gated suite (its test paths, where they are set) and whether this run was all of it.

    ``paths`` are relative to the rootdir (``.`` for the rootdir itself); ``partial`` says why
    the run was not the whole suite ('' when it was); ``gated`` is False when a partial run's
    coverage was not gated (:func:`fails_closed`); ``deselected`` counts the tests the suite's own
    configuration deselects.
    """

    paths: tuple[str, ...]
    origin: str
    partial: str = ""
    gated: bool = True
    deselected: int = 0

    @property
    def complete(self) -> bool:
        """True when the run was the whole suite."""
        return not self.partial


class Collector(Protocol):
    """pytest's answer, per path, to "does a run collect this?" (its ignore and collect hooks)."""

    def ignored(self, path: Path) -> bool:
        """True when pytest does not collect this file or folder at all."""
        ...  # pragma: no cover

    def collects(self, path: Path) -> bool:
        """True when pytest makes a test file of this (not ignored) file."""
        ...  # pragma: no cover


def judge(
    invocation: Invocation, facts: Facts, compare_paths: Callable[[], str]
) -> tuple[str, int]:
    """Why the run was partial ('' when it was the whole suite), and the suite's deselections.

    ``compare_paths`` checks the test paths (it may walk folders), so it is asked last.
    """
    if facts.stopped:
        return facts.stopped, 0
    reason = invocation.narrowing()
    if reason:
        return reason, 0
    if facts.last_failed or facts.deselected.get(BY_LAST_FAILED):
        return "--lf ran only the last failures", 0
    skipped = facts.deselected.get(BY_STEPWISE, 0)
    if skipped:
        return f"--stepwise skipped {_tests(skipped)} that passed before", 0
    for source, count in facts.deselected.items():
        if source.startswith(BY_PLUGIN):
            return f"the {source} deselected {_tests(count)}", 0
    reason = compare_paths()
    if reason:
        return reason, 0
    if facts.collected == 0:
        return "no tests ran", 0
    return "", sum(n for source, n in facts.deselected.items() if source in _SUITE_SOURCES)


def compare_paths(
    args: Sequence[str], base: Path, roots: Sequence[Path], collector: Collector, rootdir: Path
) -> str:
    """Whether the test paths ``args`` (relative to ``base``) collect what the suite's do.

    '' when they do; else what differs: node ids, a collected file of the suite they leave out,
    or one outside the suite they add. Only the parts where the two differ are walked.
    """
    node_ids = [arg for arg in args if "::" in arg]
    if node_ids:
        return f"only the tests {listing([repr(node_id) for node_id in node_ids])} were selected"
    chosen = [(base / arg).resolve() for arg in args]
    missing = first_outside(roots, chosen, collector)
    if missing is not None:
        shown = [display(path, rootdir) for path in chosen]
        verb = "was" if len(shown) == 1 else "were"
        return (
            f"only {listing(shown)} of the suite {verb} selected; "
            f"{display(missing, rootdir)} is left out"
        )
    extra = first_outside(chosen, roots, collector)
    if extra is not None:
        return f"the run also collects {display(extra, rootdir)}, which is not in the suite"
    return ""


def first_outside(
    tops: Sequence[Path], covered: Sequence[Path], collector: Collector
) -> Path | None:
    """The first file pytest collects under ``tops`` that none of the ``covered`` paths holds."""
    wanted = set(covered)
    for top in tops:
        if any(top == path or path in top.parents for path in covered):
            continue
        if not top.is_dir():
            return top  # a path given to pytest is collected whatever its name
        found = _walk(top, wanted, collector, set())
        if found is not None:
            return found
    return None


def _walk(folder: Path, covered: set[Path], collector: Collector, seen: set[Path]) -> Path | None:
    real = folder.resolve()
    if real in seen:  # a symlink loop
        return None
    seen.add(real)
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return None
    for entry in entries:
        path = Path(entry.path)
        if path in covered or collector.ignored(path):
            continue
        if entry.is_dir():
            found = _walk(path, covered, collector, seen)
            if found is not None:
                return found
        elif entry.is_file() and collector.collects(path):
            return path
    return None


def expand_paths(values: Sequence[str], base: Path, rootdir: Path, *, confined: bool) -> list[Path]:
    """The declared suite's paths, resolved, globs expanded as pytest expands ``testpaths``.

    ``confined``: the paths come from the repository's config and must stay inside the rootdir.
    Raises ``ValueError`` naming a path that matches nothing or leaves the rootdir.
    """
    found: list[Path] = []
    root = rootdir.resolve()
    for value in values:
        pattern = str(base / value)
        matches = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(value) else []
        paths = [Path(match).resolve() for match in matches] or [Path(pattern).resolve()]
        for path in paths:
            if confined and path != root and root not in path.parents:
                raise ValueError(f"{value!r} is outside the rootdir {rootdir}")
            if not path.exists():
                raise ValueError(f"{value!r} does not exist (relative to {base})")
            if path not in found:
                found.append(path)
    return found


def fails_closed(invocation: Invocation, environ: Mapping[str, str]) -> bool:
    """Whether a partial run makes coverage ERROR (True) or leaves it ungated (False).

    It does when ``--phase7`` is given by this invocation or under CI (``CI`` or ``BUILD_NUMBER``
    set and not empty, as pytest reads them); a developer's run of phase7 enabled by the
    project's config (``phase7 = true``) only says that coverage was not gated.
    """
    return invocation.explicit or any(environ.get(name) for name in _CI_VARIABLES)


def deselector(rootdir: Path) -> str:
    """Who is deselecting tests: the caller of the ``pytest_deselected`` hook being run.

    Called from phase7's own ``pytest_deselected``; the frames between are pluggy's.
    """
    frame: FrameType | None = sys._getframe(1)  # the hook call does not say who made it
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if not module.startswith(_HOOK_MACHINERY):
            return classify(module, frame.f_code.co_name, frame.f_code.co_filename, rootdir)
        frame = frame.f_back
    return BY_PLUGIN + "(unknown)"


def classify(module: str, function: str, filename: str, rootdir: Path) -> str:
    """The deselection source of a caller (:data:`BY_KEYWORD` ... or ``"plugin NAME"``)."""
    if module == "_pytest.mark" or module.startswith("_pytest.mark."):
        return BY_KEYWORD if "keyword" in function else BY_MARK
    core = {"_pytest.main": BY_DESELECT, "_pytest.cacheprovider": BY_LAST_FAILED}
    if module in core:
        return core[module]
    if module == "_pytest.stepwise":
        return BY_STEPWISE
    path = Path(filename)
    rootdir = rootdir.resolve()
    installed = {"site-packages", "dist-packages"} & set(path.parts)
    if not module.startswith("_pytest") and not installed and rootdir in path.parents:
        return BY_PROJECT
    return BY_PLUGIN + (module.split(".", maxsplit=1)[0] or path.name)


def describe(suite: Suite) -> str:
    """One line for the reports: which suite the coverage came from, or why it came from none."""
    if suite.origin == ORIGIN_ROOTDIR:
        where = "every test under the rootdir (no testpaths)"
    else:
        where = f"{listing(suite.paths)} ({suite.origin})"
    if suite.complete:
        text = f"coverage from the whole suite: {where}"
        if suite.deselected:
            text += f"; {_tests(suite.deselected)} deselected by the project's own configuration"
        return text
    if not suite.gated:
        return f"coverage not gated (the run was partial: {suite.partial}); the suite is {where}"
    return f"coverage not measured: the run was partial; the suite is {where}"


def display(path: Path, rootdir: Path) -> str:
    """``path`` relative to the rootdir (POSIX; ``.`` for the rootdir), else absolute."""
    try:
        return path.relative_to(rootdir.resolve()).as_posix() or "."
    except ValueError:
        return str(path)


def listing(values: Sequence[str]) -> str:
    """A short list of values: all up to three, else the first two and how many more."""
    return shown_list(values, 2)


def _tests(count: int) -> str:
    return f"{count:,} test" + ("" if count == 1 else "s")
