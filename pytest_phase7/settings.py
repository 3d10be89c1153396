"""phase7 settings: one table of options, one resolver, one frozen result.

Every setting is declared once in :data:`OPTIONS` with its parser, its help and (for some) its
choices; its default is the :class:`Settings` field of the same name. That one entry makes the
pytest flag (``--phase7-*``, with an argparse ``type`` and ``choices``), the typed ini key
(``phase7_*``), the ``[tool.phase7]`` key (or ``phase7.toml``; the bare name), the ``phase7``
command's flag of the same stem (``--fail-on``), and the help and README text with the default.
Precedence: command line > pytest ini > ``[tool.phase7]`` > default. A bad value raises
:class:`~pytest_phase7.errors.ConfigError` naming where it came from.

This module imports nothing outside the standard library: ``phase7 validate`` and every pytest
run use it.
"""

from __future__ import annotations

import argparse
import math
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_phase7.errors import ConfigError
from pytest_phase7.files import read_regular

if TYPE_CHECKING:
    from pytest_phase7.tomltext import TomlLines

#: Merge policies for ``fail_on``.
FAIL_ON_CHOICES = ("regression", "incomplete", "never")

#: Where ``annotations`` may send inline findings (``github``: workflow commands).
ANNOTATION_CHOICES = ("github", "none")

#: Manifest files looked for in the rootdir when no manifest is configured, in order.
DEFAULT_MANIFEST_NAMES = ("phase7.toml", "PHASE7_EXECUTION_PLAN.md")

#: Where ``--phase7-baseline-update`` writes when no baseline path is configured.
DEFAULT_BASELINE = "phase7-baseline.json"

#: ``[tool.phase7]`` keys that describe an inline manifest, not settings (the TOML loader's
#: schema; ``manifest`` itself is a setting pointing at a manifest file).
MANIFEST_KEYS = frozenset(
    {"title", "total_items", "duration_hours", "front_matter", "batches", "phases", "criteria"}
)


@dataclass(frozen=True)
class Settings:
    """The resolved phase7 settings of one run. Defaults live here and nowhere else."""

    enabled: bool = False
    manifest: str | None = None
    coverage_min: float = 70.0
    branch_min: float | None = None
    ruff_max: int = 0
    mypy_max: int = 0
    docstrings_min: float | None = None
    gates: tuple[str, ...] | None = None
    ruff_args: tuple[str, ...] = ()
    mypy_args: tuple[str, ...] = ()
    interrogate_args: tuple[str, ...] = ()
    timeout: float = 600.0
    fail_on: str = "regression"
    baseline: str | None = None
    baseline_update: bool = False
    baseline_tolerance: float = 0.0
    md: str | None = None
    json: str | None = None
    sarif: str | None = None
    codeclimate: str | None = None
    annotations: str | None = None
    step_summary: bool = True
    update_manifest: bool = False
    update_manifest_force: bool = False
    changed_since: str | None = None
    diff_coverage_min: float | None = None
    history: str | None = None
    hourly_rate: float | None = None
    suite: tuple[str, ...] | None = None
    in_process: bool = False
    modules: tuple[tuple[str, str], ...] = field(default=())
    targets: tuple[ConfiguredTarget, ...] = field(default=())


@dataclass(frozen=True)
class ConfiguredTarget:
    """One ``[tool.phase7.targets]`` entry: item ``number`` -> ``path``, and where it is written.

    ``path`` is what a plan's Path cell accepts (a path relative to the rootdir, or a dotted
    module). ``file`` and ``line`` locate the entry (line 0: not found); ``table`` is the
    table's name in that file (``tool.phase7.targets``, or ``targets`` in ``phase7.toml``).
    """

    number: int
    path: str
    file: str = ""
    line: int = 0
    table: str = "tool.phase7.targets"

    def error(self, problem: str) -> ConfigError:
        """``file:line: [table] N = 'path': problem``, for an entry that cannot be used."""
        return _entry_error(
            self.file, self.line, self.table, f"{self.number} = {self.path!r}: {problem}"
        )


#: The instance holding every default.
DEFAULTS = Settings()


def _percent(text: object) -> float:
    value = _float(text)
    if not 0 <= value <= 100:
        raise ValueError(f"{value:g} is not a percentage between 0 and 100")
    return value


def _float(text: object) -> float:
    if isinstance(text, bool):
        raise ValueError(f"expected a number, got {text!r}")
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"expected a number, got {text!r}") from None
    # nan passes every "value < limit" check and inf is no limit: neither is a usable setting.
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {text!r}")
    return value


def _count(text: object) -> int:
    if isinstance(text, bool):
        raise ValueError(f"expected a whole number >= 0, got {text!r}")
    try:
        value = int(str(text).strip()) if not isinstance(text, int) else text
    except ValueError:
        raise ValueError(f"expected a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise ValueError(f"expected a whole number >= 0, got {value}")
    return value


#: The longest gate timeout accepted: a week. Longer ones mean "never" and overflow the
#: platform's timers (an OverflowError in every gate).
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600.0


def _seconds(text: object) -> float:
    value = _float(text)
    if not 0 < value <= MAX_TIMEOUT_SECONDS:
        raise ValueError(
            f"expected a positive number of seconds up to {MAX_TIMEOUT_SECONDS:g} (a week), "
            f"got {value:g}"
        )
    return value


def _bool(text: object) -> bool:
    if isinstance(text, bool):
        return text
    lowered = str(text).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _strings(parts: list[object] | tuple[object, ...], what: str) -> list[str]:
    # A number, table or boolean in a TOML list is a mistake, not something to stringify.
    for part in parts:
        if not isinstance(part, str):
            raise ValueError(
                f"expected a list of {what} (strings), got {part!r} in {list(parts)!r}"
            )
    return [str(part) for part in parts]


def _args(text: object) -> tuple[str, ...]:
    # Argument lists are split like a command line but never run through a shell.
    if isinstance(text, (list, tuple)):
        return tuple(_strings(text, "arguments"))
    if isinstance(text, str):
        return tuple(shlex.split(text))
    raise ValueError(f"expected a list of arguments, got {text!r}")


def _words(text: object, what: str) -> list[str]:
    # A list (TOML, or an ``args`` ini key as pytest split it) or a string split like a command
    # line; commas separate too, so "coverage, ruff" and "coverage,ruff" are two names.
    if isinstance(text, (list, tuple)):
        parts = _strings(text, what)
    elif isinstance(text, str):
        try:
            parts = shlex.split(text)
        except ValueError as exc:  # an unbalanced quote
            raise ValueError(f"cannot split {text!r}: {exc}") from None
    else:
        raise ValueError(f"expected {what}, got {text!r}")
    return [piece for part in parts for piece in part.split(",") if piece.strip()]


def _names(text: object) -> tuple[str, ...]:
    names = tuple(name.strip().lower() for name in _words(text, "gate names"))
    if not names:
        # An empty list is not "all gates": that would gate everything on a typo.
        raise ValueError("expected at least one gate name (leave it unset for all gates)")
    return names


def _paths(text: object) -> tuple[str, ...]:
    paths = tuple(path.strip() for path in _words(text, "test paths"))
    if not paths:
        raise ValueError("expected at least one test path")
    return paths


def _text(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"expected a non-empty string, got {text!r}")
    if "\0" in text:  # no path or git ref has one; the OS would refuse it mid-run
        raise ValueError(f"contains a NUL byte: {text!r}")
    return text


def _rate(text: object) -> float:
    value = _float(text)
    if value < 0:
        raise ValueError(f"expected an amount >= 0, got {value:g}")
    return value


def _word(text: object) -> str:
    # A choice is matched case-insensitively; Option.convert checks it is one of the choices.
    if not isinstance(text, str):
        raise ValueError(f"expected a string, got {text!r}")
    return text.strip().lower()


#: The pytest ini type of each parser's values (``Parser.addini``'s ``type``); an option whose
#: parser is not here is a ``string``. ``int`` and ``float`` need pytest 8.4
#: (:meth:`Option.ini_type_on` falls back to ``string`` before that).
INI_TYPES: dict[Callable[[object], Any], str] = {
    _bool: "bool",
    _args: "args",
    _names: "args",
    _paths: "args",
    _count: "int",
    _float: "float",
    _percent: "float",
    _seconds: "float",
    _rate: "float",
}

#: The first pytest whose ``addini`` knows each ini type (``string``, ``bool`` and ``args``: all).
INI_TYPE_SINCE = {"int": (8, 4), "float": (8, 4)}


@dataclass(frozen=True)
class Option:
    """One setting: its name, how to parse it, its help, and what its surfaces need to know.

    ``help`` says what the setting does, never its default: :attr:`default_text` derives that
    from :data:`DEFAULTS` (``default_note`` describes a default that is not a plain value).
    ``parse`` turns any source's value (a command-line string, an ini value as pytest typed it,
    a TOML value) into the setting's value or raises ``ValueError``; it must accept its own
    results, since argparse has applied it to the command line before :func:`resolve` does.
    ``choices`` lists the allowed values (after ``parse``): the pytest and ``phase7`` flags get
    argparse's ``choices``, ini and table values are checked against them. ``ini_type`` is the
    pytest ini type; empty means the one :data:`INI_TYPES` gives for ``parse``.
    """

    name: str
    parse: Callable[[object], Any]
    help: str
    flag: bool = False
    metavar: str = ""
    default_note: str = ""
    #: An explicitly empty value on the command line or in the table (``--phase7-gates=``,
    #: ``gates = []``) goes to the parser instead of meaning "unset" (an ini key cannot tell).
    parse_empty: bool = False
    choices: tuple[str, ...] = ()
    ini_type: str = ""

    @property
    def default_text(self) -> str:
        """The default as help shows it (``70``, ``regression``); '' for off flags and no value."""
        if self.default_note:
            return self.default_note
        value = getattr(DEFAULTS, self.name)
        if self.flag or value is None or value == ():
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return f"{value:g}" if isinstance(value, float) else str(value)

    def help_text(self, *, for_argparse: bool = False) -> str:
        """The help with its choices and default: ``merge policy (one of ...; default: ...)``.

        ``for_argparse`` doubles every ``%``: argparse %-formats option help (a bare ``%`` makes
        ``pytest --help`` crash), while pytest prints ini help as it is.
        """
        notes = [f"one of {', '.join(self.choices)}"] if self.choices else []
        notes += [f"default: {self.default_text}"] if self.default_text else []
        text = self.help + (f" ({'; '.join(notes)})" if notes else "")
        return text.replace("%", "%%") if for_argparse else text

    def convert(self, raw: object) -> object:
        """The setting's value from ``raw`` (any source), or ``ValueError`` saying what is wrong."""
        value = self.parse(raw)
        if self.choices and value not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}, got {raw!r}")
        return value

    def from_command_line(self, text: str) -> object:
        """The argparse ``type`` of this option's flags: the parsed value, or ``ArgumentTypeError``.

        An empty value means "not given" (None), unless :attr:`parse_empty`. Choices are left
        to argparse's own ``choices`` check, whose error lists them.
        """
        if not text and not self.parse_empty and not self.choices:
            return None
        try:
            return self.parse(text) if self.choices else self.convert(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    def argparse_kwargs(self, dest: str) -> dict[str, Any]:
        """What ``add_argument`` (pytest's ``addoption`` too) needs for this option's flag."""
        help_text = self.help_text(for_argparse=True)
        if self.flag:
            return {"action": "store_true", "default": False, "dest": dest, "help": help_text}
        return {
            "action": "store",
            "default": None,
            "dest": dest,
            "metavar": self.metavar or None,
            "type": self.from_command_line,
            "choices": self.choices or None,
            "help": help_text,
        }

    @property
    def ini_kind(self) -> str:
        """The pytest ini type of the key (``bool``, ``args``, ``float``, ``string``, ...)."""
        return self.ini_type or INI_TYPES.get(self.parse, "string")

    def ini_type_on(self, pytest_version: Sequence[object]) -> str:
        """:attr:`ini_kind` as the pytest of ``pytest_version`` can register it, else ``string``.

        The parser reads a string as well, so only native TOML configuration loses the type.
        """
        since = INI_TYPE_SINCE.get(self.ini_kind)
        numbers = tuple(part for part in pytest_version if isinstance(part, int))
        return self.ini_kind if since is None or numbers[:2] >= since else "string"

    @property
    def cli(self) -> str:
        """The pytest flag (``--phase7-coverage-min``; ``--phase7`` for ``enabled``)."""
        if self.name == "enabled":
            return "--phase7"
        return "--phase7-" + self.name.replace("_", "-")

    @property
    def command_flag(self) -> str:
        """The ``phase7`` command's flag: the setting's name with dashes (``--fail-on``)."""
        return "--" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        """The pytest ini key (``phase7_coverage_min``; ``phase7`` for ``enabled``)."""
        return "phase7" if self.name == "enabled" else f"phase7_{self.name}"

    @property
    def dest(self) -> str:
        """The argparse destination of the pytest flag."""
        return "phase7" if self.name == "enabled" else f"phase7_{self.name}"


OPTIONS: tuple[Option, ...] = (
    Option("enabled", _bool, "run the Phase 7 quality gates and print the status table", flag=True),
    Option(
        "manifest",
        _text,
        "work-item manifest (Markdown plan or TOML)",
        metavar="PATH",
        default_note="[tool.phase7], else "
        + ", else ".join(DEFAULT_MANIFEST_NAMES)
        + " in the rootdir",
    ),
    Option("coverage_min", _percent, "minimum coverage percent per target", metavar="PCT"),
    Option(
        "branch_min", _percent, "separate minimum branch-coverage percent per target", metavar="PCT"
    ),
    Option("ruff_max", _count, "maximum ruff violations per target", metavar="N"),
    Option("mypy_max", _count, "maximum mypy errors per target", metavar="N"),
    Option(
        "docstrings_min",
        _percent,
        "minimum docstring coverage per target",
        metavar="PCT",
        default_note="the project's interrogate fail-under, else 80",
    ),
    Option(
        "gates",
        _names,
        "gates to run, separated by commas or spaces",
        metavar="NAMES",
        default_note="all",
        parse_empty=True,
    ),
    Option("ruff_args", _args, "extra arguments for ruff check", metavar="ARGS"),
    Option("mypy_args", _args, "extra arguments for mypy", metavar="ARGS"),
    Option("interrogate_args", _args, "extra arguments for interrogate", metavar="ARGS"),
    Option(
        "timeout",
        _seconds,
        "seconds each gate may take before it is an ERROR",
        metavar="SECONDS",
    ),
    Option("fail_on", _word, "merge policy", metavar="POLICY", choices=FAIL_ON_CHOICES),
    Option(
        "baseline",
        _text,
        "baseline JSON with per-module metrics (the 'from' of 5% -> 70%)",
        metavar="PATH",
    ),
    Option(
        "baseline_update",
        _bool,
        "raise the baseline's floors to this run's figures (never lowers one; not under "
        "--phase7-changed-since)",
        flag=True,
    ),
    Option(
        "baseline_tolerance",
        _percent,
        "points a percentage may drop below its baseline before it counts as a regression",
        metavar="POINTS",
    ),
    Option("md", _text, "write the Markdown report here", metavar="PATH"),
    Option("json", _text, "write the JSON report here", metavar="PATH"),
    Option(
        "sarif",
        _text,
        "write the findings as SARIF 2.1.0 here (GitHub code scanning)",
        metavar="PATH",
    ),
    Option(
        "codeclimate",
        _text,
        "write the findings as a GitLab Code Quality report here",
        metavar="PATH",
    ),
    Option(
        "annotations",
        _word,
        "inline findings where reviewers look: github (workflow commands) or none",
        metavar="KIND",
        choices=ANNOTATION_CHOICES,
        default_note="github when GITHUB_ACTIONS=true, else none",
    ),
    Option(
        "step_summary",
        _bool,
        "append the Markdown report to $GITHUB_STEP_SUMMARY when that is set",
        metavar="BOOL",
    ),
    Option("update_manifest", _bool, "write derived statuses back into the plan", flag=True),
    Option(
        "update_manifest_force",
        _bool,
        "like update_manifest, and also after a partial or ERROR-only run",
        flag=True,
    ),
    Option(
        "changed_since",
        _text,
        "pull-request mode: static gates check only targets changed since the merge-base with "
        "this git ref; others carry their last result",
        metavar="REF",
    ),
    Option(
        "diff_coverage_min",
        _percent,
        "with --phase7-changed-since: minimum coverage percent of the lines the pull request "
        "adds or changes, per target and per changed file in the plan or not",
        metavar="PCT",
    ),
    Option(
        "history",
        _text,
        "append each run's per-item metrics to this JSON-lines file",
        metavar="PATH",
    ),
    Option(
        "hourly_rate", _rate, "turn estimated hours into cost figures in reports", metavar="AMOUNT"
    ),
    Option(
        "suite",
        _paths,
        "test paths that make the gated suite (separated by commas or spaces), collected when "
        "no test paths are given",
        metavar="PATHS",
        default_note="the project's testpaths",
    ),
    Option(
        "in_process",
        _bool,
        "do phase7's work in the test process, not in a helper process beside it",
        flag=True,
    ),
)

_BY_NAME = {option.name: option for option in OPTIONS}


def option(name: str) -> Option:
    """The option named ``name`` (``KeyError`` for a name that is not in :data:`OPTIONS`)."""
    return _BY_NAME[name]


def _is_unset(value: object) -> bool:
    return value is None or (isinstance(value, (str, list, tuple)) and len(value) == 0)


def resolve(
    cli: Mapping[str, object],
    ini: Mapping[str, object],
    table: Mapping[str, object],
    *,
    table_path: str = "[tool.phase7]",
    ini_path: str = "",
) -> Settings:
    """Merge the three sources into one :class:`Settings` (CLI > ini > table > defaults).

    ``cli`` and ``ini`` are keyed by option name with unset values as None/empty; ``table`` is the
    raw ``[tool.phase7]`` mapping. An ini value may be the ``ValueError`` pytest raised reading
    it (its typed keys check their values): it counts as a bad value there. Unknown table keys
    and bad values raise ``ConfigError``, naming ``file:line`` for the table and for the ini file
    ``ini_path`` (pytest's ``config.inipath``).
    """
    values: dict[str, Any] = {}
    for key in table:
        if key not in _BY_NAME and key not in MANIFEST_KEYS and key not in _TABLE_ONLY:
            raise _table_error(table_path, (key,), f"unknown setting {key!r}")
    for option in OPTIONS:
        for source, raw, label in (
            ("cli", cli.get(option.name), option.cli),
            ("ini", ini.get(option.name), f"ini option {option.ini}"),
            ("table", table.get(option.name), ""),
        ):
            explicit_empty = option.parse_empty and source != "ini" and raw is not None
            if (_is_unset(raw) and not explicit_empty) or (
                source == "cli" and option.flag and raw is False
            ):
                continue
            try:
                if isinstance(raw, ValueError):
                    raise raw
                values[option.name] = option.convert(raw)
            except ValueError as exc:
                if source == "table":
                    raise _table_error(
                        table_path, (option.name,), f"{option.name}: {exc}"
                    ) from None
                if source == "ini" and ini_path:
                    line = _ini_line(Path(ini_path), option.ini)
                    raise ConfigError(f"{label}: {exc}", ini_path, line) from None
                raise ConfigError(f"{label}: {exc}") from None
            break
    modules = table.get("modules", {})
    if not isinstance(modules, Mapping):
        raise _table_error(
            table_path, ("modules",), f"modules must be a table of area = folder, got {modules!r}"
        )
    seen: dict[str, str] = {}
    for area, folder in modules.items():
        if not isinstance(folder, str) or not folder.strip():
            raise _table_error(
                table_path, ("modules", area), f"modules: {area!r} must map to a folder path"
            )
        key = " ".join(str(area).split()).casefold()
        if key in seen:
            raise _table_error(
                table_path,
                ("modules", area),
                f"modules: module area {area!r} is mapped twice (also as {seen[key]!r})",
            )
        seen[key] = str(area)
    values["modules"] = tuple((str(a), str(f)) for a, f in modules.items())
    values["targets"] = _targets(table.get("targets", {}), table_path)
    return Settings(**values)


#: ``[tool.phase7]`` keys that are settings without a command-line flag or ini key.
_TABLE_ONLY = frozenset({"modules", "targets", "manifest"})


def _targets(raw: object, table_path: str) -> tuple[ConfiguredTarget, ...]:
    """The ``targets`` table: item number -> target path, each entry with its file and line.

    Only the entries' shape is checked here; whether the item and the path exist is checked
    when the plan is resolved (:func:`pytest_phase7.resolve.targets.resolve_items`), where both
    are known.
    """
    if not isinstance(raw, Mapping):
        raise _table_error(
            table_path, ("targets",), f"targets must be a table of item = path, got {raw!r}"
        )
    if not raw:
        return ()
    file, table = _label_parts(table_path)
    section = ".".join(part for part in (table, "targets") if part)
    lines = _toml_lines(Path(file)) if file else None
    entries = []
    for key, value in raw.items():
        line = lines.nested_key(table, ["targets", str(key)]) if lines else 0
        if not re.fullmatch(r"[1-9][0-9]*", str(key)):
            raise _entry_error(
                file, line, section, f'{key!r} is not an item number (write e.g. 3 = "path")'
            )
        if not isinstance(value, str) or not value.strip():
            raise _entry_error(
                file, line, section, f"item {key} must map to a path string, got {value!r}"
            )
        entries.append(ConfiguredTarget(int(key), value.strip(), file, line, section))
    return tuple(entries)


def _entry_error(file: str, line: int, section: str, problem: str) -> ConfigError:
    """``file:line: [section] problem`` (the file alone when the line is not found)."""
    return ConfigError(f"[{section}] {problem}", file, line)


def load_table(rootdir: Path) -> tuple[dict[str, Any], str]:
    """Read the phase7 table: ``phase7.toml`` if present, else ``[tool.phase7]`` of pyproject.

    Returns the table and the label to use in messages. Missing files give an empty table.
    """
    return TableSource(rootdir).table()


class TableSource:
    """The file holding the phase7 table, read once and parsed at most once.

    ``pytest`` without ``--phase7`` asks twice whether phase7 is on (to switch coverage on
    early, then to register the run) and ``pytest --phase7`` reads the settings again to build
    the run: one instance per run serves them all. :meth:`may_enable` answers "certainly off"
    from the file's bytes, so a plain ``pytest`` in a project whose ``phase7.toml`` holds a
    10k-item plan does not parse that plan at all.
    """

    def __init__(self, rootdir: Path) -> None:
        """Find and read the file (``phase7.toml``, else ``pyproject.toml``) of ``rootdir``."""
        candidate = rootdir / "phase7.toml"
        pyproject = rootdir / "pyproject.toml"
        self.path: Path | None = (
            candidate if candidate.is_file() else pyproject if pyproject.is_file() else None
        )
        self.raw: bytes | None = None
        self._error: ConfigError | None = None
        self._table: tuple[dict[str, Any], str] | None = None
        if self.path is not None:
            try:
                self.raw = read_regular(self.path)  # never blocks, even if it became a FIFO
            except OSError as exc:
                self._error = ConfigError(f"cannot read: {exc.strerror}", str(self.path))

    def may_enable(self) -> bool:
        r"""False when the table certainly does not set ``enabled`` (decided without parsing).

        That is: no file, an unreadable one (:meth:`table` raises), or text that never spells
        the key ``enabled``, not even through an escape (``"\u0065nabled"``). True means only
        "maybe": :meth:`table` tells.
        """
        if self.raw is None:
            return False
        return b"enabled" in self.raw or b"\\" in self.raw

    def table(self) -> tuple[dict[str, Any], str]:
        """The table and its label for messages (:func:`load_table`); ``ConfigError`` if broken.

        The result is shared by every call: callers must not modify the table.
        """
        error = self._error
        if error is None:
            if self._table is None:
                try:
                    self._table = self._parse()
                except ConfigError as exc:
                    self._error = exc
                    raise
            return self._table
        # The same error for every caller, without the tracebacks of earlier raises.
        raise error.with_traceback(None)

    def _parse(self) -> tuple[dict[str, Any], str]:
        if self.path is None or self.raw is None:
            return {}, "[tool.phase7]"
        data = _parse_toml(self.path, self.raw)
        if self.path.name == "phase7.toml":
            return data, str(self.path)
        tool = data.get("tool", {})
        table = tool.get("phase7", {}) if isinstance(tool, dict) else {}
        if not isinstance(table, dict):
            raise ConfigError("[tool.phase7] must be a table", str(self.path))
        return table, f"{self.path} [tool.phase7]"


def _parse_toml(path: Path, raw: bytes) -> dict[str, Any]:
    # Imported here, not with this module: every pytest run imports settings (phase7 on or
    # off), and the parser is only needed when there is a table to parse.
    from pytest_phase7.tomltext import TomlSyntaxError, loads  # noqa: PLC0415

    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ConfigError("UTF-16 encoded; save it as UTF-8", str(path))
    try:
        # A UTF-8 byte order mark is accepted, as the manifest loader accepts it.
        return loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02X}); save it as UTF-8", str(path), line
        ) from None
    except TomlSyntaxError as exc:
        raise ConfigError(f"invalid TOML: {exc.message}", str(path), exc.line) from None


def _table_error(table_path: str, keys: Sequence[object], message: str) -> ConfigError:
    """A bad ``[tool.phase7]`` entry: ``file:line: [tool.phase7] message`` when the line is found.

    ``table_path`` is :func:`load_table`'s label (``/x/pyproject.toml [tool.phase7]``,
    ``/x/phase7.toml``); ``keys`` is the key's path inside the phase7 table (``modules``, area).
    Without a readable file the label itself says where (``[tool.phase7] message``).
    """
    file, table = _label_parts(table_path)
    lines = _toml_lines(Path(file)) if file else None
    line = lines.nested_key(table, [str(k) for k in keys]) if lines else 0
    if not line:
        return ConfigError(f"{table_path} {message}")
    return ConfigError(f"[{table}] {message}" if table else message, file, line)


def targets_location(table: Mapping[str, object], table_path: str) -> tuple[str, str, bool]:
    """Where ``targets`` entries belong: the file's name, the table's name, and whether it exists.

    (``pyproject.toml``, ``tool.phase7.targets``) or (``phase7.toml``, ``targets``), as
    :func:`load_table` read them; a project without either file gets ``pyproject.toml``.
    """
    file, table_name = _label_parts(table_path)
    section = ".".join(part for part in (table_name, "targets") if part)
    return (Path(file).name if file else "pyproject.toml"), section, "targets" in table


def _label_parts(table_path: str) -> tuple[str, str]:
    """``/x/pyproject.toml [tool.phase7]`` -> (``/x/pyproject.toml``, ``tool.phase7``).

    ``/x/phase7.toml`` -> (``/x/phase7.toml``, ''); a label without a file -> ('', its table).
    """
    if table_path[:1] == "[":
        return "", table_path.strip("[]")
    file, _, rest = table_path.partition(" [")
    return file, rest.rstrip("]").strip()


def setting_location(name: str, *, table_path: str = "", ini_path: str = "") -> tuple[str, int]:
    """Where option ``name`` is set: ``(file, line)``, line 0 when not found, file "" without one.

    In the ini file ``ini_path`` when given, else in the phase7 table (``table_path`` is
    :func:`load_table`'s label).
    """
    if ini_path:
        return ini_path, _ini_line(Path(ini_path), _BY_NAME[name].ini)
    file, table = _label_parts(table_path)
    if not file:
        return "", 0
    lines = _toml_lines(Path(file))
    return file, lines.nested_key(table, [name]) if lines else 0


def _ini_line(path: Path, key: str) -> int:
    """The line setting ``key`` in a pytest ini file (INI or TOML syntax), else 0."""
    pattern = re.compile(rf"\s*[\"']?{re.escape(key)}[\"']?\s*[=:]")
    try:
        lines = re.split(r"\r\n|\r|\n", path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeError):
        return 0
    return next((number for number, line in enumerate(lines, 1) if pattern.match(line)), 0)


def _toml_lines(path: Path) -> TomlLines | None:
    """Where the keys of the TOML file ``path`` are (None when it cannot be read)."""
    from pytest_phase7.tomltext import TomlLines  # noqa: PLC0415

    try:
        return TomlLines(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeError):
        return None


def setting_names() -> Sequence[str]:
    """All setting names, in declaration order (for docs and tests)."""
    return [f.name for f in fields(Settings)]
