"""TOML text: the one parser phase7 uses, its errors with their line, and where keys are written.

Every TOML file phase7 reads (``phase7.toml``, ``[tool.phase7]``, a TOML manifest, the tools'
configuration) goes through :func:`loads`: ``tomllib`` (``tomli`` before Python 3.11), with a
syntax error, or a document nested too deeply to parse, raised as :class:`TomlSyntaxError`
carrying its line. tomllib reports no line numbers for values, so :class:`TomlLines` finds
headers and keys in the source text, for messages that name ``file:line``.

Importing this module imports the parser: modules on every pytest run's path (the settings)
import it only when there is TOML to read.
"""

from __future__ import annotations

import bisect
import re
import sys
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["HEADER", "KEY", "TomlLines", "TomlSyntaxError", "loads"]

#: A table header line, ``[name]`` or ``[[name]]`` (``open`` tells which), comment allowed.
HEADER = re.compile(r"\s*(?P<open>\[\[?)\s*(?P<name>[^\[\]#]+?)\s*\]\]?\s*(?:#.*)?")

#: The start of a ``key = value`` line: its indent and the key, bare or quoted.
KEY = re.compile(
    r"""(?P<indent>\s*)(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>[^']*)'|(?P<bare>[A-Za-z0-9_-]+))\s*="""
)

_DOTS = re.compile(r"\s*\.\s*")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_POSITION = re.compile(r"\s*\(at line ([0-9]+), column ([0-9]+)\)")
_AT_END = re.compile(r"\s*\(at end of document\)")


class TomlSyntaxError(ValueError):
    """Text that is not TOML: ``message`` says why, ``line`` where (0: not known)."""

    def __init__(self, message: str, line: int) -> None:
        """Keep the bare message and the line; ``str()`` names the line too."""
        super().__init__(f"{message} (line {line})" if line else message)
        self.message = message
        self.line = line


def loads(text: str) -> dict[str, Any]:
    """Parse a TOML document; :class:`TomlSyntaxError` (with its line) if it is not one."""
    try:
        document: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(getattr(exc, "msg", "") or exc)
        line = int(getattr(exc, "lineno", 0) or 0)  # Python 3.14+ says it itself
        position = _POSITION.search(message)
        if position is not None:
            line = line or int(position.group(1))
            message = f"{message[: position.start()]} (column {position.group(2)})"
        elif _AT_END.search(message):
            line = line or len(_LINE_BREAK.split(text))
            message = _AT_END.sub(" (at end of file)", message)
        raise TomlSyntaxError(message, line) from None
    except RecursionError:
        raise TomlSyntaxError("nested too deeply", 0) from None
    return document


def table_name(header: str) -> str:
    """A header's table name as dotted keys: ``[ tool . "phase7" ]`` -> ``tool.phase7``."""
    return _DOTS.sub(".", header).replace('"', "").replace("'", "")


class TomlLines:
    """Where headers and keys sit in a TOML text: the line numbers tomllib does not report.

    Line numbers are 1-based; a table is named by its header's line, 0 for the top of the file
    (the keys before any header). A key's line is looked up in its table's region, up to the
    next header; each region is indexed once, when first asked, so that a manifest with many
    thousands of tables stays linear.
    """

    def __init__(self, text: str) -> None:
        """Find every header of ``text`` (a byte order mark is ignored)."""
        self.lines = _LINE_BREAK.split(text.removeprefix("\ufeff")) if text else []
        #: (line, is an array of tables, name) of every header, in order.
        self.headers: list[tuple[int, bool, str]] = []
        for index, line in enumerate(self.lines):
            if not line.lstrip().startswith("["):
                continue
            match = HEADER.fullmatch(line)
            if match is not None:
                name = table_name(match.group("name"))
                self.headers.append((index + 1, match.group("open") == "[[", name))
        self.header_lines = [line for line, _, _ in self.headers]
        self._tables: dict[str, int] = {}
        for line, array, name in self.headers:
            if not array:
                self._tables.setdefault(name, line)
        self._keys: dict[int, dict[str, int]] = {}

    def table(self, name: str) -> int | None:
        """The line of the ``[name]`` header (0 for ``""``, the top of the file), else None."""
        return 0 if not name else self._tables.get(name)

    def arrays(self, name: str) -> list[int]:
        """The lines of the ``[[name]]`` headers, in order."""
        return [line for line, array, header in self.headers if array and header == name]

    def key(self, table_line: int | None, key: str) -> int:
        """The line of ``key = ...`` in the table whose header is at ``table_line``, else 0."""
        if table_line is None or not self.lines:
            return 0
        keys = self._keys.get(table_line)
        if keys is None:
            end = bisect.bisect_right(self.header_lines, table_line)
            stop = self.header_lines[end] - 1 if end < len(self.header_lines) else len(self.lines)
            keys = {}
            for index in range(table_line, stop):
                match = KEY.match(self.lines[index])
                if match is not None:
                    found = next(g for g in match.group("dq", "sq", "bare") if g is not None)
                    keys.setdefault(found, index + 1)
            self._keys[table_line] = keys
        return keys.get(key, 0)

    def subtable(self, table_line: int, key: str) -> int:
        """The line of a ``[...KEY]`` header below the table at ``table_line``, else 0.

        A sub-table is written after its parent's header and before the next ``[[array]]``
        header starts another element.
        """
        start = bisect.bisect_right(self.header_lines, table_line)
        for line, array, name in self.headers[start:]:
            if array:
                break
            if name.rsplit(".", 1)[-1] == key:
                return line
        return 0

    def nested_key(self, table: str, keys: list[str]) -> int:
        """The line of the key path ``keys`` below ``[table]``, else 0.

        A nested key (``targets``, ``3``) is looked for in its own ``[table.targets]`` section,
        then as an inline table ``targets = {...}``, then at that section's header.
        """
        *parents, last = keys
        owner = ".".join(part for part in (table, *parents) if part)
        line = self.key(self.table(owner), last)
        if not line and parents:
            line = self.key(self.table(table), parents[0]) or (self.table(owner) or 0)
        return line
