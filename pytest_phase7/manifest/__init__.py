"""Load the work-item manifest: a Markdown execution plan or its TOML form.

:func:`load_manifest` is the one entry point for files: it reads and decodes the bytes, picks the
format by suffix and reports anything that stops it from reading the plan as a
:class:`~pytest_phase7.errors.ManifestError` naming ``file:line``. Problems inside a readable plan
(overlapping ranges, unknown statuses, ...) are collected in ``Manifest.problems`` instead, so a
caller can show them all; :func:`raise_for_errors` turns the first error into an exception.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from pytest_phase7.errors import ManifestError
from pytest_phase7.gcpause import gc_paused
from pytest_phase7.manifest.markdown import parse_markdown
from pytest_phase7.manifest.toml import MANIFEST_TABLE_KEYS, parse_toml, root_key_line, to_toml
from pytest_phase7.manifest.values import show, split_lines
from pytest_phase7.tomltext import TomlSyntaxError, loads

if TYPE_CHECKING:
    from pytest_phase7.model import Manifest

__all__ = [
    "MANIFEST_TABLE_KEYS",
    "MAX_MANIFEST_BYTES",
    "load_manifest",
    "parse_markdown",
    "parse_toml",
    "raise_for_errors",
    "split_lines",
    "to_toml",
]

#: The largest manifest file read (a plan of 100000 items is about 10 MB).
MAX_MANIFEST_BYTES = 32 * 1024 * 1024

_BYTE_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


@gc_paused
def load_manifest(path: Path, *, display: str | None = None, root: Path | None = None) -> Manifest:
    """Load the manifest at ``path``: ``.toml`` files as TOML, anything else as a Markdown plan.

    ``display`` is how the file is named in messages (default ``str(path)``). A TOML table with
    ``manifest = "PLAN.md"`` loads that file instead, relative to the TOML file's folder; with
    ``root`` given, a ``manifest`` path that resolves outside it is refused. For
    ``pyproject.toml`` the table is ``[tool.phase7]``, elsewhere the whole document.
    """
    return _load(path, display if display is not None else str(path), root, follow=True)


def raise_for_errors(manifest: Manifest) -> None:
    """Raise :class:`~pytest_phase7.errors.ManifestError` for the manifest's first error, if any."""
    errors = manifest.errors
    if not errors:
        return
    first, more = errors[0], len(errors) - 1
    message = first.message
    if more:
        message += f" (and {more} more error{'s' if more != 1 else ''})"
    raise ManifestError(message, first.path, first.line)


def _load(path: Path, shown: str, root: Path | None, *, follow: bool) -> Manifest:
    text = _read_text(path, shown)
    if path.suffix.lower() != ".toml":
        return parse_markdown(text, shown)
    table = _toml_table(path, text, shown)
    if "manifest" not in table:
        return parse_toml(table, shown, text)
    line = root_key_line(text, "manifest")
    if not follow:
        raise ManifestError(
            "names another manifest file; a manifest cannot redirect twice", shown, line
        )
    target, target_shown = _redirect(path, table, shown, root, line)
    return _load(target, target_shown, root, follow=False)


def _redirect(
    path: Path,
    table: Mapping[str, object],
    shown: str,
    root: Path | None,
    line: int,
) -> tuple[Path, str]:
    value = table["manifest"]
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"manifest must be a path string, got {show(value)}", shown, line)
    defined = [key for key in sorted(MANIFEST_TABLE_KEYS - {"manifest"}) if key in table]
    if defined:
        raise ManifestError(
            f"manifest = {show(value)} names the plan, so this table may not also define "
            f"{', '.join(defined)}",
            shown,
            line,
        )
    relative = PurePath(value)
    if relative.is_absolute() or relative.anchor or value.startswith(("/", "\\")):
        raise ManifestError(
            f"manifest = {show(value)} escapes the rootdir: give a path relative to the folder "
            f"of {path.name}",
            shown,
            line,
        )
    target = path.parent / value
    if root is not None:
        try:
            inside = target.resolve().is_relative_to(root.resolve())
        except (OSError, RuntimeError, ValueError) as exc:
            raise ManifestError(
                f"manifest = {show(value)}: cannot resolve: {exc}", shown, line
            ) from None
        if not inside:
            raise ManifestError(f"manifest = {show(value)} escapes the rootdir {root}", shown, line)
    # Named like the TOML file is named (rootdir-relative stays rootdir-relative).
    return target, str(PurePath(shown).parent / value)


def _read_text(path: Path, shown: str) -> str:
    try:
        if path.is_dir():
            raise ManifestError("is a directory, not a manifest file", shown)
        info = path.stat()
        # A device or FIFO (a symlink to /dev/zero, say) would be read forever.
        if not stat.S_ISREG(info.st_mode):
            raise ManifestError("is not a regular file, not a manifest file", shown)
        if info.st_size > MAX_MANIFEST_BYTES:
            raise ManifestError(
                f"is {info.st_size} bytes; a manifest may have at most {MAX_MANIFEST_BYTES}",
                shown,
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError("manifest file not found", shown) from None
    except IsADirectoryError:
        raise ManifestError("is a directory, not a manifest file", shown) from None
    except OSError as exc:
        raise ManifestError(f"cannot read: {exc.strerror or exc}", shown) from None
    except ValueError as exc:
        raise ManifestError(f"cannot read: {exc}", shown) from None
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ManifestError("UTF-16 encoded; save it as UTF-8", shown)
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = _byte_line(raw, nul)
        raise ManifestError("binary file (NUL byte), not a text manifest", shown, line)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = _byte_line(raw, exc.start)
        raise ManifestError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02X} at line {line}); save it as UTF-8",
            shown,
            line,
        ) from None
    if not text.strip():
        raise ManifestError("manifest file is empty", shown)
    return text


def _byte_line(raw: bytes, offset: int) -> int:
    return len(_BYTE_LINE_BREAK.findall(raw, 0, offset)) + 1


def _toml_table(path: Path, text: str, shown: str) -> Mapping[str, object]:
    try:
        document: dict[str, object] = loads(text)
    except TomlSyntaxError as exc:
        raise ManifestError(f"invalid TOML: {exc.message}", shown, exc.line) from None
    if path.name.lower() != "pyproject.toml":
        return document
    tool = document.get("tool")
    table = tool.get("phase7") if isinstance(tool, dict) else None
    if table is None:
        raise ManifestError("has no [tool.phase7] table", shown)
    if not isinstance(table, dict):
        raise ManifestError(f"[tool.phase7] must be a table, got {show(table)}", shown)
    return table
