"""Write files so that readers see either the old content or the new, never a torn mix.

New files and folders are created with ``0o666``/``0o777`` and the kernel applies the umask:
reading the umask means setting it (``os.umask``), which is process-wide and would change the
mode of whatever the gate threads' tools create meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

#: How many random names to try before giving up (each collision is astronomically unlikely).
_ATTEMPTS = 100


def _fresh_name(folder: Path, prefix: str, suffix: str) -> Path:
    # What secrets.token_hex(6) returns, without importing secrets (and random) at start-up.
    return folder / f"{prefix}{os.urandom(6).hex()}{suffix}"


def create_new_file(folder: Path, prefix: str, suffix: str) -> tuple[int, Path]:
    """Create a file of a fresh random name in ``folder``: its descriptor (for writing) and path.

    The mode is ``0o666`` less the umask, as for any file a program creates.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_ATTEMPTS):
        path = _fresh_name(folder, prefix, suffix)
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")  # pragma: no cover


def create_new_folder(parent: Path, prefix: str) -> Path:
    """Create a folder of a fresh random name in ``parent`` (mode ``0o777`` less the umask)."""
    for _ in range(_ATTEMPTS):
        path = _fresh_name(parent, prefix, "")
        try:
            path.mkdir(0o777)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"no free temporary name in {parent}")  # pragma: no cover


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (temp file in the same folder, then rename).

    The file keeps its permission bits; a new file gets the usual umask-based mode. If anything
    fails before the rename, the original is untouched and the temp file is removed.
    """
    try:
        mode: int | None = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    handle, temp_name = create_new_file(path.parent, f".{path.name}.", ".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
