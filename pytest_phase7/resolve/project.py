"""Find a project's manifest the same way for the plugin and the ``phase7`` command.

Order: an explicit path (``--phase7-manifest``, ``manifest = ...``); an inline manifest in the
phase7 table (``[[tool.phase7.batches]]``); then ``phase7.toml`` and
``PHASE7_EXECUTION_PLAN.md`` in the rootdir.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_phase7.errors import ManifestError
from pytest_phase7.files import reason, shorten_name, usable_path
from pytest_phase7.model import Manifest
from pytest_phase7.settings import DEFAULT_MANIFEST_NAMES, MANIFEST_KEYS, targets_location

if TYPE_CHECKING:
    from pytest_phase7.resolve.targets import Resolution


def display_path(path: Path, rootdir: Path) -> str:
    """``path`` relative to the rootdir when inside it (POSIX), else as given."""
    try:
        return path.resolve().relative_to(rootdir.resolve()).as_posix()
    except ValueError:
        return str(path)


def find_manifest(
    rootdir: Path,
    explicit: str | None,
    table: Mapping[str, object],
    label: str,
    *,
    base: Path | None = None,
) -> Manifest:
    """Load the project's manifest; ``explicit`` is relative to ``base`` (default: rootdir)."""
    from pytest_phase7.manifest import load_manifest, parse_toml  # noqa: PLC0415

    if explicit:
        try:
            path = usable_path((base or rootdir) / explicit)
        except OSError as exc:  # a symlink loop, a name too long, a NUL byte
            message = f"cannot use the manifest path: {reason(exc)}"
            raise ManifestError(message, shorten_name(explicit)) from None
        shown = display_path(path, rootdir)
        return load_manifest(path, display=shown, root=rootdir)
    if any(key in table for key in MANIFEST_KEYS):
        source = Path(label.split(" [", 1)[0])
        text = source.read_text(encoding="utf-8") if source.is_file() else ""
        return parse_toml(table, display_path(source, rootdir), text)
    for name in DEFAULT_MANIFEST_NAMES:
        candidate = rootdir / name
        if candidate.is_file():
            return load_manifest(candidate, display=name, root=rootdir)
    raise ManifestError(
        "no work-item manifest: pass --phase7-manifest=PATH, set manifest in [tool.phase7], or "
        "add " + " or ".join(DEFAULT_MANIFEST_NAMES) + " to the rootdir",
        str(rootdir),
    )


def target_fixes(
    resolutions: Iterable[Resolution], table: Mapping[str, object], label: str
) -> tuple[str, ...]:
    """The ``[tool.phase7.targets]`` lines that fix ambiguous or misplaced items, as one note.

    Empty when nothing needs fixing; the lines name the file phase7 reads its table from.
    """
    from pytest_phase7.resolve.targets import fix_lines  # noqa: PLC0415

    lines = fix_lines(resolutions, *targets_location(table, label))
    return ("\n".join(lines),) if lines else ()
