"""What ruff, mypy and interrogate read beyond the targets and the config files beside them.

The gate cache (:mod:`pytest_phase7.gates.cache`) keys a gate's result by every input of its
tool. The target files, every config file in their folders and above, the user's config files
and the tool's environment variables are keyed for every gate; this module finds the rest, per
tool, as :class:`~pytest_phase7.gates.cache.ToolInputs`:

* ruff: configs chained with ``extend = "../base.toml"`` (followed to the end) and files named by
  ``--config`` in ``ruff_args`` (inline ``--config 'key = value'`` settings are in the key with
  the other arguments); and what its first-party detection looks at: the names of the packages and
  modules at the top of every ``src`` folder (default ``.`` and ``src`` beside each config), and
  which folders above each target hold an ``__init__.py`` (its package root);
* mypy: the config file it uses (``--config-file`` in ``mypy_args``, or the first of its search),
  every ``.py``/``.pyi`` file importable from ``mypy_path`` and ``$MYPYPATH`` folders and from
  editable installs outside the rootdir, and the plugins' own files. Plugins read their settings
  from mypy's config file, which is keyed;
* interrogate: files named by ``-c``/``--config`` in ``interrogate_args``.

What cannot be known (another Python's packages via ``python_executable``, a custom typeshed, a
plugin whose file cannot be found, a config phase7 cannot parse, folders too large to hash) makes
:attr:`~pytest_phase7.gates.cache.ToolInputs.unknown` say why: that gate is not cached.
"""

from __future__ import annotations

import ast
import configparser
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_phase7.files import read_regular, reason
from pytest_phase7.gates.cache import FileDigests, ToolInputs
from pytest_phase7.tomltext import TomlSyntaxError, loads

if TYPE_CHECKING:
    from pytest_phase7.gates.base import GateRequest


#: The largest tool config file read (larger ones make the gate uncached).
MAX_CONFIG_BYTES = 4 * 1024 * 1024

#: How many files the search folders (``mypy_path``, editable installs) may hold before the gate
#: gives up keying them, and is not cached.
MAX_SEARCH_FILES = 20_000

#: How long a chain of ``extend`` configs may be (ruff refuses cycles; this bounds a long chain).
MAX_EXTEND_DEPTH = 32

#: ruff's config file names, in the order it prefers them within one folder.
RUFF_CONFIG_NAMES = (".ruff.toml", "ruff.toml", "pyproject.toml")

#: mypy's config search (``mypy.defaults``): own files first, then shared ones with a section.
MYPY_CONFIG_NAMES = ("mypy.ini", ".mypy.ini", "pyproject.toml", "setup.cfg")

#: ``mypy_args`` whose inputs phase7 cannot key.
MYPY_UNKNOWABLE_ARGS = ("--custom-typeshed-dir", "--shadow-file", "--python-executable")


class Unknowable(Exception):
    """An input of the tool cannot be known (the message says which, for ``-v``)."""


def ruff_inputs(request: GateRequest, digests: FileDigests) -> ToolInputs:
    """What ``ruff check`` reads besides the targets and the configs beside them."""
    return _collect(lambda: _ruff(request, digests))


def mypy_inputs(request: GateRequest, digests: FileDigests) -> ToolInputs:
    """What mypy reads besides the project's Python files and the configs beside them."""
    return _collect(lambda: _mypy(request, digests))


def interrogate_inputs(request: GateRequest, digests: FileDigests) -> ToolInputs:
    """What interrogate reads besides the targets and the configs beside them."""
    del digests
    return _collect(lambda: _interrogate(request))


def _collect(find: Callable[[], ToolInputs]) -> ToolInputs:
    try:
        inputs = find()
    except Unknowable as exc:
        return ToolInputs(unknown=str(exc))
    return inputs


# --- command-line values --------------------------------------------------------------------


def option_values(
    args: Sequence[str], long: str, short: str = "", *, abbreviations: bool = False
) -> list[str]:
    """The values given to an option in ``args``: ``--long V``, ``--long=V``, ``-s V``, ``-sV``.

    With ``abbreviations`` (argparse's default, which mypy keeps), a unique prefix of ``long``
    of at least ``--`` and two letters counts too; ``--`` ends the options.
    """
    values = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            break
        name, eq, glued = arg.partition("=")
        if _is_option(name, long, abbreviations=abbreviations):
            if eq:
                values.append(glued)
            elif index + 1 < len(args):
                values.append(args[index + 1])
                index += 1
        elif short and arg.startswith(short) and not arg.startswith("--"):
            if len(arg) > len(short):
                values.append(arg[len(short) :].removeprefix("="))
            elif index + 1 < len(args):
                values.append(args[index + 1])
                index += 1
        index += 1
    return values


def _is_option(name: str, long: str, *, abbreviations: bool) -> bool:
    if name == long:
        return True
    return abbreviations and len(name) >= 4 and name.startswith("--") and long.startswith(name)


def _any_option(args: Sequence[str], names: Iterable[str]) -> str:
    """The first of ``names`` given in ``args`` (argparse abbreviations count), else ""."""
    for arg in args:
        if arg == "--":
            break
        flag = arg.partition("=")[0]
        for name in names:
            if _is_option(flag, name, abbreviations=True):
                return name
    return ""


# --- reading configs --------------------------------------------------------------------------


#: Keys whose presence in a config file's bytes makes it worth parsing, per tool (TOML parsing
#: costs milliseconds, on the warm path): ``extend-select`` is not ``extend``.
_RUFF_KEYS = re.compile(rb"\b(extend|src)[\"']?\s*=")
_MYPY_SECTION = re.compile(rb"mypy")
_MYPY_HEADER = re.compile(rb"(?m)^[ \t]*\[\[?[ \t]*tool[ \t]*\.[ \t]*[\"']?mypy[\"']?[ \t]*[\].]")
_MYPY_KEYS = re.compile(
    rb"\b(mypy_path|plugins|python_executable|custom_typeshed_dir)[\"']?\s*[=:]"
)


def _raw(path: Path, digests: FileDigests) -> bytes:
    key = ("raw", str(path))
    raw = digests.parsed.get(key)
    if not isinstance(raw, bytes):
        try:
            raw = digests.parsed[key] = read_regular(path, MAX_CONFIG_BYTES)
        except OSError as exc:
            raise Unknowable(f"cannot read {path}: {reason(exc)}") from None
    return raw


def _read_toml(path: Path, digests: FileDigests, keys: re.Pattern[bytes]) -> dict[str, Any]:
    """``path``'s TOML document, parsed once per run; ``{}`` if its bytes name none of ``keys``."""
    raw = _raw(path, digests)
    if not keys.search(raw):
        return {}
    key = ("toml", str(path))
    document = digests.parsed.get(key)
    if not isinstance(document, dict):
        try:
            document = digests.parsed[key] = loads(raw.decode("utf-8-sig"))
        except (UnicodeError, TomlSyntaxError) as exc:
            raise Unknowable(f"cannot read {path}: {reason(exc)}") from None
    return document


def _read_ini(path: Path, digests: FileDigests) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(_raw(path, digests).decode("utf-8-sig"), str(path))
    except (UnicodeError, configparser.Error) as exc:
        raise Unknowable(f"cannot read {path}: {reason(exc)}") from None
    return parser


def _expand(value: str, base: Path) -> Path:
    """A config's path value: ``~`` and ``$VARS`` expanded, relative to ``base``."""
    return base / os.path.expandvars(os.path.expanduser(value))


def _strings(value: object, key: str, where: Path) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise Unknowable(f"{where}: {key} is neither a string nor a list of strings")


# --- ruff -------------------------------------------------------------------------------------


def _ruff_table(path: Path, document: dict[str, Any]) -> dict[str, Any]:
    if path.name != "pyproject.toml":
        return document
    tool = document.get("tool")
    table = tool.get("ruff") if isinstance(tool, dict) else None
    return table if isinstance(table, dict) else {}


def _ruff(request: GateRequest, digests: FileDigests) -> ToolInputs:
    rootdir = request.rootdir
    targets = sorted({f for t in request.targets for f in t.files})
    files: list[Path] = []
    # (where a table's relative paths start, the table, how far down an extend chain it is)
    tables: list[tuple[Path, dict[str, Any], int]] = []
    pending = [
        (path, 0)
        for path in digests.config_files(rootdir, targets)
        if path.name in RUFF_CONFIG_NAMES
    ]
    for value in option_values(request.settings.ruff_args, "--config"):
        named = rootdir / os.path.expanduser(value)
        inline = None if named.is_file() else _inline_toml(value)
        if inline is None:
            files.append(named)  # a file (a missing one fails ruff: never cached)
            pending.append((named, 0))
        else:
            tables.append((rootdir, inline, 0))
    seen: set[Path] = set()
    done = 0
    while pending or done < len(tables):
        if done < len(tables):
            folder, table, depth = tables[done]
            done += 1
            for extended in _strings(table.get("extend"), "extend", folder):
                if depth >= MAX_EXTEND_DEPTH:
                    raise Unknowable(f"{folder}: an extend chain longer than {MAX_EXTEND_DEPTH}")
                target = _expand(extended, folder)
                files.append(target)
                pending.append((target, depth + 1))
            continue
        path, depth = pending.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        tables.append(
            (path.parent, _ruff_table(path, _read_toml(path, digests, _RUFF_KEYS)), depth)
        )
    roots = {rootdir.resolve()}
    for folder, table, _ in tables:
        base = folder.resolve()
        roots |= {base, base / "src"}
        for src in _strings(table.get("src"), "src", folder):
            roots |= {Path(p) for p in _globbed(_expand(src, base))}
    facts = [f"src {root}: {' '.join(_module_names(root))}" for root in sorted(roots)]
    facts += _package_roots(rootdir, targets)
    return ToolInputs(files=tuple(files), facts=tuple(facts))


def _inline_toml(value: str) -> dict[str, Any] | None:
    try:
        return loads(value)
    except TomlSyntaxError:
        return None


def _globbed(path: Path) -> list[str]:
    text = str(path)
    if not any(c in text for c in "*?["):
        return [text]
    import glob  # noqa: PLC0415 - only for the rare globbed src entry

    return sorted(glob.glob(text)) or [text]


#: Folders Python itself writes, which no import names: they must not move the cache key (the
#: first run that writes bytecode would otherwise miss the cache of the run before it).
NOT_PACKAGES = frozenset({"__pycache__"})


def _module_names(folder: Path) -> list[str]:
    """The importable names at the top of ``folder``: packages (any folder) and modules."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return ["<none>"]
    names = []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir and entry.name.isidentifier() and entry.name not in NOT_PACKAGES:
            names.append(entry.name + "/")
        elif not is_dir:
            stem, dot, suffix = entry.name.rpartition(".")
            if dot and suffix in ("py", "pyi") and stem.isidentifier():
                names.append(entry.name)
    return sorted(names)


def _package_roots(rootdir: Path, targets: Iterable[str]) -> list[str]:
    """Which folders above each target hold ``__init__.py``: they make its package root."""
    facts = []
    for folder in sorted({(rootdir / rel).parent for rel in targets}):
        chain = []
        for ancestor in (folder, *folder.parents):
            marked = [n for n in ("__init__.py", "__init__.pyi") if (ancestor / n).is_file()]
            chain.append(f"{ancestor.name}:{','.join(marked)}")
            if "__init__.py" not in marked:
                break
        facts.append(f"package {folder}: {'/'.join(chain)}")
    return facts


# --- mypy -------------------------------------------------------------------------------------


def _mypy(request: GateRequest, digests: FileDigests) -> ToolInputs:
    rootdir = request.rootdir
    args = request.settings.mypy_args
    unknowable = _any_option(args, MYPY_UNKNOWABLE_ARGS)
    if unknowable:
        raise Unknowable(f"mypy_args has {unknowable}, whose files phase7 does not track")
    named = option_values(args, "--config-file", abbreviations=True)
    config = (rootdir / named[-1]) if named else _find_mypy_config(rootdir, digests)
    files: list[Path] = []
    options: dict[str, list[str]] = {}
    if config is not None:
        files.append(config)
        options = _mypy_options(config, digests)
    for key in ("python_executable", "custom_typeshed_dir"):
        value = options.get(key)
        if value and not (key == "python_executable" and _same_python(value[0])):
            raise Unknowable(f"{config}: {key} names files phase7 does not track")
    # mypy sets $MYPY_CONFIG_FILE_DIR to the config's folder before it expands the paths.
    here = str(config.parent.resolve()) if config is not None else ""
    folders = [
        _expand(
            re.sub(r"\$(MYPY_CONFIG_FILE_DIR\b|\{MYPY_CONFIG_FILE_DIR\})", lambda _: here, p),
            rootdir,
        )
        for p in options.get("mypy_path", [])
    ]
    folders += [Path(p) for p in os.environ.get("MYPYPATH", "").split(os.pathsep) if p]
    folders += _editable_folders(rootdir)
    found = _python_files(folders)
    if len(found) > MAX_SEARCH_FILES:
        raise Unknowable(
            f"mypy_path, MYPYPATH and editable installs hold more than {MAX_SEARCH_FILES} files"
        )
    files += found
    for plugin in options.get("plugins", []):
        files.append(_plugin_file(plugin, config))
    return ToolInputs(files=tuple(files))


def _find_mypy_config(rootdir: Path, digests: FileDigests) -> Path | None:
    """The config file mypy run in ``rootdir`` uses (``mypy.config_parser._find_config_file``)."""
    for folder in (rootdir, *rootdir.parents):
        for name in MYPY_CONFIG_NAMES:
            path = folder / name
            if path.is_file() and (
                name not in ("pyproject.toml", "setup.cfg") or _has_mypy(path, digests)
            ):
                return path
        if (folder / ".git").exists() or (folder / ".hg").exists():
            break
    home = os.environ.get("XDG_CONFIG_HOME")
    users = [os.path.join(home, "mypy/config")] if home else []
    users += ["~/.config/mypy/config", "~/.mypy.ini"]
    for user in users:
        path = Path(os.path.expanduser(user))
        if path.is_file():
            return path
    return None


def _has_mypy(path: Path, digests: FileDigests) -> bool:
    """Whether a shared config file (pyproject.toml, setup.cfg) has a mypy section."""
    if path.suffix == ".toml":
        if _MYPY_HEADER.search(_raw(path, digests)):
            return True  # a [tool.mypy...] header line: no need to parse the file
        tool = _read_toml(path, digests, _MYPY_SECTION).get("tool")
        return isinstance(tool, dict) and "mypy" in tool
    return _MYPY_SECTION.search(_raw(path, digests)) is not None and "mypy" in _read_ini(
        path, digests
    )


def _mypy_options(config: Path, digests: FileDigests) -> dict[str, list[str]]:
    """``mypy_path``, ``plugins``, ``python_executable``, ``custom_typeshed_dir`` of a config."""
    if not config.is_file():
        return {}  # mypy fails on a missing --config-file: never cached
    keys = ("mypy_path", "plugins", "python_executable", "custom_typeshed_dir")
    if config.suffix.lower() == ".toml":
        tool = _read_toml(config, digests, _MYPY_KEYS).get("tool")
        section = tool.get("mypy") if isinstance(tool, dict) else None
        if not isinstance(section, dict):
            return {}
        values = {key: _strings(section.get(key), key, config) for key in keys}
        values["mypy_path"] = [p for v in values["mypy_path"] for p in _split(v, "[,:]")]
        values["plugins"] = [p for v in values["plugins"] for p in _split(v, ",")]
        return values
    if not _MYPY_KEYS.search(_raw(config, digests)):
        return {}
    parser = _read_ini(config, digests)
    if "mypy" not in parser:
        return {}
    section = parser["mypy"]
    return {
        "mypy_path": _split(section.get("mypy_path", ""), "[,:]"),
        "plugins": _split(section.get("plugins", ""), ","),
        "python_executable": _split(section.get("python_executable", ""), "\n"),
        "custom_typeshed_dir": _split(section.get("custom_typeshed_dir", ""), "\n"),
    }


def _split(value: str, pattern: str) -> list[str]:
    return [part.strip() for part in re.split(pattern, value) if part.strip()]


def _same_python(value: str) -> bool:
    try:
        return os.path.samefile(os.path.expanduser(value), sys.executable)
    except OSError:
        return False


def _plugin_file(plugin: str, config: Path | None) -> Path:
    """The file of a mypy plugin entry (``path/plugin.py[:fn]`` or ``module[:fn]``)."""
    name = plugin
    if ":" in os.path.basename(name):
        name = name.rsplit(":", 1)[0]
    if name.endswith(".py"):
        base = config.parent if config is not None else Path()
        return base / name
    parts = name.split(".")
    for entry in [*os.environ.get("PYTHONPATH", "").split(os.pathsep), *sys.path]:
        if not entry:
            continue
        base = Path(entry, *parts)
        for candidate in (base.with_name(parts[-1] + ".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    raise Unknowable(f"cannot find the file of mypy plugin {plugin!r}")


def _editable_folders(rootdir: Path) -> list[Path]:
    """Sources outside ``rootdir`` that editable installs put on ``sys.path`` (folders, files).

    Their files change without any install record changing, and mypy follows imports into them.
    """
    root = rootdir.resolve()
    found: list[Path] = []
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for name in names:
            if name.endswith(".pth"):
                found += _pth_folders(Path(entry or ".", name))
            elif name.startswith("__editable__") and name.endswith("_finder.py"):
                found += _finder_paths(Path(entry or ".", name))
    kept = set()
    for path in found:
        real = path.resolve()
        if real.exists() and real != root and root not in real.parents:
            kept.add(real)
    return sorted(kept)


def _pth_folders(path: Path) -> list[Path]:
    """The folders a ``.pth`` file adds to ``sys.path`` (its ``import`` lines run code: skipped)."""
    try:
        text = read_regular(path, MAX_CONFIG_BYTES).decode("utf-8", "replace")
    except OSError:
        return []
    site = path.parent.resolve()
    folders = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", "import ", "import\t")):
            folder = (path.parent / line).resolve()
            if folder != site and site not in folder.parents:  # eggs: install records key them
                folders.append(folder)
    return folders


def _finder_paths(path: Path) -> list[Path]:
    """The packages in a setuptools editable finder's ``MAPPING = {name: path}``."""
    try:
        tree = ast.parse(read_regular(path, MAX_CONFIG_BYTES))
    except (OSError, SyntaxError, ValueError):
        return []
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "MAPPING" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            try:
                mapping = ast.literal_eval(node.value)
            except ValueError:
                return []
            return [Path(v) for v in mapping.values() if isinstance(v, str)]
    return []


def _python_files(tops: Iterable[Path]) -> list[Path]:
    """The importable ``.py``/``.pyi`` files at or below ``tops`` (at most one past the limit).

    Only folders whose names can be imported (identifiers, ``*-stubs``) are entered.
    """
    found: list[Path] = []
    seen: set[str] = set()
    for top in tops:
        if top.is_file():
            found.append(top)
            continue
        for folder, dirnames, filenames in os.walk(top):
            real = os.path.realpath(folder)
            if real in seen:
                dirnames[:] = []
                continue
            seen.add(real)
            dirnames[:] = sorted(d for d in dirnames if d.isidentifier() or d.endswith("-stubs"))
            found += (
                Path(folder, name)
                for name in sorted(filenames)
                if name.endswith((".py", ".pyi")) or name == "py.typed"
            )
            if len(found) > MAX_SEARCH_FILES:
                return found
    return found


# --- interrogate ------------------------------------------------------------------------------


def _interrogate(request: GateRequest) -> ToolInputs:
    named = option_values(request.settings.interrogate_args, "--config", "-c")
    return ToolInputs(files=tuple(request.rootdir / value for value in named))
