"""Map each work item to its target in the repo: a file, a dotted module or a package folder.

The search is documented in the README ("How items find their modules"):

1. An entry of ``[tool.phase7.targets]`` (item number = path) wins over the plan's cells. It is
   read like an explicit target (below) and must resolve: an entry for an item the plan does not
   have, or one that does not resolve, is a configuration error naming its file and line.
2. An explicit target (``Path`` column, TOML ``path``): a path relative to the rootdir (a ``.py``
   file, or a folder = a package target), or a dotted module name looked up under the rootdir and
   ``src/`` (``a.b.c`` -> ``a/b/c.py`` or the package ``a/b/c/``).
3. A File cell holding a path (``src/click/core.py``: it has a folder) that exists relative to the
   rootdir is that path, whatever the Module area says.
4. Otherwise the module area and the file: the area's folder comes from ``[tool.phase7.modules]``
   or, when not configured, every folder named like the snake-cased area (``Agent Orchestration``
   -> ``agent_orchestration``); the file is looked for anywhere inside those folders. An area with
   no such folder narrows nothing: the whole rootdir is searched, preferring files below a folder
   whose name contains the area's (``orchestration`` in ``agent_orchestration/``). With no area,
   the whole rootdir is searched.

One match resolves the item; none leaves it unresolved (with what was searched, and where the file
is when it exists outside the area's folders); several are ambiguous, listing the candidates.
:func:`fix_lines` turns those into the ``[tool.phase7.targets]`` lines that fix them. Whatever
matches must stay inside the rootdir once symlinks are resolved. The repo is walked once per run
and indexed by name, so resolution is linear in the number of items.
"""

from __future__ import annotations

import bisect
import enum
import os
import re
import stat
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from pytest_phase7.files import kind_of, reason, shorten_name
from pytest_phase7.gcpause import gc_paused
from pytest_phase7.model import Manifest, WorkItem
from pytest_phase7.wording import shown_list

if TYPE_CHECKING:
    from pytest_phase7.settings import ConfiguredTarget

#: Folder names never searched: VCS, caches, virtual environments, build output.
SKIPPED_DIRS = frozenset(
    {
        "__pycache__",
        "node_modules",
        "site-packages",
        "build",
        "dist",
        "venv",
        "env",
        "htmlcov",
        "__pypackages__",
    }
)

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


class TargetKind(enum.Enum):
    """What a resolved target is."""

    FILE = "file"
    PACKAGE = "package"


@dataclass(frozen=True)
class Target:
    """A resolved target: one file, or a package folder whose ``.py`` files are aggregated.

    ``ref`` is the rootdir-relative POSIX path (a folder ends with ``/``); ``files`` are the
    rootdir-relative POSIX paths of the Python files it stands for.
    """

    kind: TargetKind
    ref: str
    files: tuple[str, ...]


class ResolutionState(enum.Enum):
    """How resolving an item ended."""

    RESOLVED = "resolved"
    UNMAPPED = "unmapped"
    MISSING = "missing"
    AMBIGUOUS = "ambiguous"
    ESCAPES = "escapes"
    #: Found, but not something a gate can check: a folder with no Python file, a FIFO or a
    #: device named ``x.py``, a path the system refuses to look up (too long, a symlink loop).
    INVALID = "invalid"


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving one work item.

    ``candidates`` are the paths that would fix an ambiguous or missing item (every match, or
    the matches outside the area's folders); ``via`` says where the target was found.
    """

    item: WorkItem
    state: ResolutionState
    target: Target | None = None
    message: str = ""
    candidates: tuple[str, ...] = ()
    searched: tuple[str, ...] = ()
    via: str = ""

    @property
    def ok(self) -> bool:
        """True when the item has a target to gate."""
        return self.state is ResolutionState.RESOLVED


def snake_case(name: str) -> str:
    """``Agent Orchestration`` -> ``agent_orchestration`` (the default folder for an area)."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def _normal_area(name: str) -> str:
    return " ".join(name.split()).casefold()


class RepoIndex:
    """Every file and folder under the rootdir, indexed by name, from one walk."""

    @gc_paused
    def __init__(self, rootdir: Path) -> None:
        """Walk ``rootdir`` once (without following folder symlinks)."""
        self.rootdir = rootdir
        self.real_root = Path(os.path.realpath(rootdir))
        self.files_by_name: dict[str, list[str]] = defaultdict(list)
        self.dirs_by_name: dict[str, list[str]] = defaultdict(list)
        for folder, dirnames, filenames in os.walk(rootdir):
            rel_folder = os.path.relpath(folder, rootdir)
            prefix = "" if rel_folder == "." else rel_folder.replace(os.sep, "/") + "/"
            kept = []
            for name in sorted(dirnames):
                if name.startswith(".") or name in SKIPPED_DIRS or name.endswith(".egg-info"):
                    continue
                if (Path(folder) / name / "pyvenv.cfg").exists():
                    continue
                kept.append(name)
                self.dirs_by_name[name].append(prefix + name)
            dirnames[:] = kept
            for name in filenames:
                if name.endswith((".py", ".pyi")):
                    self.files_by_name[name].append(prefix + name)
        # Answers computed on first use: the index is a snapshot of one walk, so a ref (or a
        # folder) re-listed by many items is checked once, not once per item.
        self._inside: dict[str, bool] = {}
        self._real_folders: dict[str, str] = {}
        self._folder_inside: dict[str, bool] = {}
        self._sorted: tuple[str, ...] | None = None
        self._sorted_py: list[str] | None = None
        self._package_files: dict[str, tuple[str, ...]] = {}

    def inside(self, rel: str) -> bool:
        """True if ``rel`` stays inside the rootdir once symlinks are resolved."""
        known = self._inside.get(rel)
        if known is None:
            known = self._inside[rel] = self._check_inside(rel)
        return known

    def _check_inside(self, rel: str) -> bool:
        # realpath(root/folder/name) is realpath(root/folder)/name unless name is itself a
        # symlink (or "." / ".."): one lstat per ref, and one realpath per distinct folder
        # instead of realpath's lstat of every component for every item.
        if os.sep != "/":  # pragma: no cover - Windows: Path also splits at backslashes
            rel = rel.replace(os.sep, "/")
        folder, _, name = rel.rpartition("/")
        if name in {"", ".", ".."} or os.path.islink(self.rootdir / rel):
            return self._contains(Path(os.path.realpath(self.rootdir / rel)))
        if self._folder_is_inside(folder):
            return True
        # A folder outside the rootdir holds only outside paths, except the rootdir itself.
        return Path(self._real_folder(folder), name) == self.real_root

    def _contains(self, real: Path) -> bool:
        return real == self.real_root or self.real_root in real.parents

    def _real_folder(self, folder: str) -> str:
        real = self._real_folders.get(folder)
        if real is None:
            real = self._real_folders[folder] = os.path.realpath(self.rootdir / folder)
        return real

    def _folder_is_inside(self, folder: str) -> bool:
        known = self._folder_inside.get(folder)
        if known is None:
            known = self._folder_inside[folder] = self._contains(Path(self._real_folder(folder)))
        return known

    def all_python_files(self) -> tuple[str, ...]:
        """Every ``.py``/``.pyi`` file the walk found (sorted)."""
        if self._sorted is None:
            self._sorted = tuple(sorted(p for paths in self.files_by_name.values() for p in paths))
        return self._sorted

    def python_files(self, rel_dir: str) -> tuple[str, ...]:
        """The ``.py`` files below a folder (sorted, skipping what the walk skips)."""
        base = rel_dir.rstrip("/") + "/"
        found = self._package_files.get(base)
        if found is None:
            if self._sorted_py is None:
                self._sorted_py = [p for p in self.all_python_files() if p.endswith(".py")]
            # Sorted paths sharing a prefix are contiguous: a binary search finds the first,
            # instead of scanning every file of the repo for every package target.
            start = bisect.bisect_left(self._sorted_py, base)
            end = start
            while end < len(self._sorted_py) and self._sorted_py[end].startswith(base):
                end += 1
            found = self._package_files[base] = tuple(self._sorted_py[start:end])
        return found


@gc_paused
def resolve_items(
    manifest: Manifest,
    rootdir: Path,
    modules: Sequence[tuple[str, str]] = (),
    *,
    targets: Sequence[ConfiguredTarget] = (),
    index: RepoIndex | None = None,
) -> tuple[Resolution, ...]:
    """Resolve every item of ``manifest`` against the repo at ``rootdir``.

    ``targets`` (``[tool.phase7.targets]``) win over the plan's cells; an entry for an item the
    plan lacks, or one that does not resolve, raises :class:`~pytest_phase7.errors.ConfigError`
    naming the entry's file and line.
    """
    index = index or RepoIndex(rootdir)
    areas = {_normal_area(area): folder for area, folder in modules}
    configured = {entry.number: entry for entry in targets}
    if configured:
        numbers = {item.number for item in manifest.items}
        for entry in targets:
            if entry.number not in numbers:
                raise entry.error(f"{manifest.path} has no item {entry.number}")
    resolutions = []
    for item in manifest.items:
        chosen = configured.get(item.number)
        if chosen is None:
            resolutions.append(resolve_item(item, index, areas))
            continue
        resolution = _resolve_explicit(item, chosen.path, index)
        if not resolution.ok:
            # "'x.py' does not exist ...": the entry's message names the path already.
            raise chosen.error(resolution.message.removeprefix(f"{chosen.path!r} "))
        resolutions.append(replace(resolution, via=f"[{chosen.table}]"))
    return tuple(resolutions)


def resolve_item(item: WorkItem, index: RepoIndex, areas: Mapping[str, str]) -> Resolution:
    """Resolve one item from the plan's cells (see the module docstring for the search)."""
    if not item.mapped:
        return Resolution(item, ResolutionState.UNMAPPED, message="the plan names no target yet")
    try:
        if item.target:
            return replace(_resolve_explicit(item, item.target.strip(), index), via="the Path cell")
        return _resolve_file(item, index, areas)
    except (OSError, ValueError) as exc:  # a name too long, a symlink loop, a NUL byte
        shown = shorten_name(item.target or item.file)
        message = f"cannot look up {shown}: {reason(exc)}"
        return Resolution(item, ResolutionState.INVALID, message=message)


def _escape_problem(item: WorkItem, text: str) -> Resolution | None:
    if os.path.isabs(text) or text.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", text):
        return Resolution(
            item,
            ResolutionState.ESCAPES,
            message=f"{text!r} is an absolute path; give it relative to the rootdir",
        )
    if ".." in PurePosixPath(text.replace("\\", "/")).parts:
        return Resolution(item, ResolutionState.ESCAPES, message=f"{text!r} leaves the rootdir")
    return None


def _resolve_explicit(item: WorkItem, text: str, index: RepoIndex) -> Resolution:
    """``text`` as a path relative to the rootdir, or as a dotted module name."""
    problem = _escape_problem(item, text)
    if problem:
        return problem
    if _DOTTED.match(text) and not text.endswith((".py", ".pyi")):
        parts = text.split(".")
        searched: list[str] = []
        candidates: list[str] = []
        for base in ("", "src/"):
            module_file = base + "/".join(parts) + ".py"
            package_dir = base + "/".join(parts)
            searched += [module_file, package_dir + "/"]
            if module_file in index.files_by_name.get(parts[-1] + ".py", ()):
                candidates.append(module_file)
            if package_dir in index.dirs_by_name.get(parts[-1], ()):
                candidates.append(package_dir + "/")
        if not candidates:
            return _missing(item, f"no module {text!r} under the rootdir or src/", searched)
        return _pick(item, text, candidates, searched, index)
    rel = text.replace("\\", "/").strip("/")
    found = _existing(index, rel, folder=text.endswith(("/", "\\")))
    if not found and (index.rootdir / rel).is_symlink():
        found = rel
    if not found:
        return _missing(item, f"{text!r} does not exist in the rootdir", [rel])
    return _pick(item, text, [found], [found], index)


def _existing(index: RepoIndex, rel: str, *, folder: bool = False) -> str:
    """``rel`` as a ref when the walk found it: ``a/b.py``, or ``a/b/`` for a folder; else ''."""
    name = PurePosixPath(rel).name
    if rel in index.dirs_by_name.get(name, ()):
        return rel + "/"
    if not folder and rel in index.files_by_name.get(name, ()):
        return rel
    return ""


def _resolve_file(item: WorkItem, index: RepoIndex, areas: Mapping[str, str]) -> Resolution:
    """The File cell: a path that exists, else searched in the area's folders or the rootdir."""
    text = item.file.strip()
    wanted = text.replace("\\", "/")
    problem = _escape_problem(item, wanted)
    if problem:
        return problem
    is_dir = wanted.endswith("/") or not wanted.endswith((".py", ".pyi"))
    wanted = wanted.strip("/")
    if "/" in wanted:
        # A File cell holding a path is a path: the Module area has nothing to add.
        found = _existing(index, wanted, folder=wanted.endswith("/"))
        if found:
            return _pick(item, text, [found], [found], index, via="the File cell (a path)")
    name = PurePosixPath(wanted).name
    pool = index.dirs_by_name.get(name, ()) if is_dir else index.files_by_name.get(name, ())
    suffix = "/" if is_dir else ""
    matches = [p + suffix for p in pool if p == wanted or p.endswith("/" + wanted)]
    area = item.module.strip()
    if area and _normal_area(area) in areas:
        return _in_configured_folder(item, text, matches, areas[_normal_area(area)], index)
    if not area:
        return _pick(item, text, matches, [f"./**/{wanted}"], index, via="the whole rootdir")
    folder_name = snake_case(area)
    folders = index.dirs_by_name.get(folder_name, ())
    if folders:
        inside = [m for m in matches if _within_any(m, folders)]
        searched = [f"{f}/**/{wanted}" for f in folders]
        where = f"folders named {folder_name!r}"
        if inside or not matches:
            return _pick(item, text, inside, searched, index, via=where)
        return _missing(
            item,
            f"no {wanted!r} in {where}; elsewhere: {shown_list(matches)}",
            searched,
            matches,
        )
    # No folder is named like the area: it narrows nothing, but may rank the matches.
    if not matches:
        return _missing(
            item,
            f"no {wanted!r} in the whole rootdir (and no folder is named {folder_name!r})",
            [f"./**/{wanted}"],
        )
    preferred = _preferring_area(matches, area)
    return _pick(
        item,
        text,
        preferred,
        [f"./**/{wanted}"],
        index,
        via="the whole rootdir"
        + (f", preferring folders named like {area!r}" if len(preferred) < len(matches) else ""),
    )


def _in_configured_folder(
    item: WorkItem, text: str, matches: Sequence[str], raw: str, index: RepoIndex
) -> Resolution:
    """The File cell searched in the folder ``[tool.phase7.modules]`` gives the item's area."""
    raw = raw.strip().replace("\\", "/")
    # Checked before the slashes are stripped: "/abs/dir" must not become "abs/dir".
    escape = _escape_problem(item, raw)
    if escape:
        return escape
    configured = raw.strip("/")
    area = item.module.strip()
    searched = [f"{configured}/ (configured for {area!r})"]
    if not _is_dir(index, configured):
        return _missing(
            item,
            f"folder {configured!r} configured for module area {area!r} does not exist",
            searched,
        )
    inside = [m for m in matches if _within_any(m, [configured])]
    via = f"{configured}/ (configured for {area!r})"
    return _pick(item, text, inside, searched, index, via=via)


def _preferring_area(matches: Sequence[str], area: str) -> list[str]:
    """The matches below a folder whose name contains the area's, if any; else all of them."""
    compact = re.sub(r"[^0-9a-z]", "", area.casefold())
    if not compact:
        return list(matches)
    preferred = [
        path
        for path in matches
        if any(compact in re.sub(r"[^0-9a-z]", "", part.casefold()) for part in _folders(path))
    ]
    return preferred or list(matches)


def _folders(path: str) -> list[str]:
    return path.rstrip("/").split("/")[:-1]


def _is_dir(index: RepoIndex, rel: str) -> bool:
    return rel in index.dirs_by_name.get(PurePosixPath(rel).name, ()) or (
        (index.rootdir / rel).is_dir() and index.inside(rel)
    )


def _within_any(path: str, folders: Iterable[str]) -> bool:
    return any(not folder or path.startswith(folder + "/") for folder in folders)


def _missing(
    item: WorkItem,
    message: str,
    searched: Sequence[str],
    candidates: Sequence[str] = (),
) -> Resolution:
    return Resolution(
        item,
        ResolutionState.MISSING,
        message=message,
        candidates=tuple(candidates),
        searched=tuple(searched),
    )


def _pick(
    item: WorkItem,
    text: str,
    candidates: Sequence[str],
    searched: Sequence[str],
    index: RepoIndex,
    *,
    via: str = "",
) -> Resolution:
    unique = list(dict.fromkeys(candidates))
    if not unique:
        where = f" in {via}" if via else ""
        return _missing(item, f"no {text!r}{where}", searched)
    if len(unique) > 1:
        noun = "folders" if all(c.endswith("/") for c in unique) else "files"
        where = f" in {via}" if via else ""
        return Resolution(
            item,
            ResolutionState.AMBIGUOUS,
            message=f"{text!r} matches {len(unique)} {noun}{where}: {shown_list(unique)}",
            candidates=tuple(unique),
            searched=tuple(searched),
        )
    ref = unique[0]
    if not index.inside(ref.rstrip("/")):
        return Resolution(
            item,
            ResolutionState.ESCAPES,
            message=f"{ref!r} resolves outside the rootdir (symlink)",
            candidates=(ref,),
        )
    if ref.endswith("/"):
        files = tuple(f for f in index.python_files(ref) if index.inside(f))
        target = Target(TargetKind.PACKAGE, ref, files)
    else:
        target = Target(TargetKind.FILE, ref, (ref,))
    problem = _unusable(index.rootdir, target)
    if problem:
        return Resolution(item, ResolutionState.INVALID, message=problem, candidates=(ref,))
    return Resolution(
        item, ResolutionState.RESOLVED, target=target, searched=tuple(searched), via=via
    )


def _unusable(rootdir: Path, target: Target) -> str:
    """Why no gate can check ``target`` (no Python file, one that is not a regular file), or ""."""
    if not target.files:
        return f"{target.ref!r} contains no Python file"
    for rel in target.files:
        try:
            mode = os.stat(rootdir / rel).st_mode
        except FileNotFoundError:
            continue  # vanished since the walk: the gates say so
        if not stat.S_ISREG(mode):
            # A FIFO would block every reader (coverage.py and the tools included) forever.
            return f"{rel!r} is {kind_of(mode)}, not a Python file"
    return ""


def fix_lines(
    resolutions: Iterable[Resolution], config_file: str, section: str, exists: bool = False
) -> list[str]:
    """What to paste into the config to fix every ambiguous or misplaced item ([] if none).

    ``config_file`` and ``section`` say where the entries go (``pyproject.toml``,
    ``tool.phase7.targets``); ``exists``: the file already has that table, so only the entries
    are to be added. Each entry proposes the first candidate and names the others.
    """
    entries = []
    for resolution in resolutions:
        candidates = resolution.candidates
        number = resolution.item.number
        if resolution.state not in _FIXABLE:
            continue
        if not candidates:
            entries.append(
                f'# {number} = "..."  (nothing matches: correct the plan or give a path)'
            )
            continue
        entry = f"{number} = {_toml_string(candidates[0])}"
        others = candidates[1:]
        if len(others) == 1:
            entry += f"  # or {others[0]}"
        elif others:
            entry += f"  # or one of the {len(others)} other candidates"
        entries.append(entry)
    if not any(entry[0] != "#" for entry in entries):
        return []
    where = f"[{section}] of {config_file}" if exists else config_file
    return [
        f"to choose each target, add to {where} (keep the right path):",
        *([] if exists else [f"  [{section}]"]),
        *(f"  {entry}" for entry in entries),
    ]


_FIXABLE = frozenset({ResolutionState.AMBIGUOUS, ResolutionState.MISSING})


def _toml_string(text: str) -> str:
    """``text`` as a TOML basic string (paths need only quotes and backslashes escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
