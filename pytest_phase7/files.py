"""Reading files a plan, a config or a tool names: regular files only, never a blocking read.

A FIFO named ``mod.py`` blocks ``open()`` until a writer comes, and a device such as
``/dev/zero`` never ends: either would hang a run past every timeout. :func:`read_regular`
opens without blocking, checks what it opened (not the name, which may change in between), and
refuses anything that is not a regular file with :class:`NotRegularFileError`, an ``OSError``,
so callers' ``except OSError`` already handles it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

#: Flags for opening a file that may turn out to be a FIFO or a device: never block, never
#: become the controlling terminal.
_SAFE_FLAGS = (
    getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_READ_FLAGS = os.O_RDONLY | _SAFE_FLAGS

_CHUNK = 1 << 20


class NotRegularFileError(OSError):
    """The path names a FIFO, a device, a socket or a folder, not a regular file."""

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        """Say what ``path`` is instead (``kind``: "a FIFO", "a device", ...)."""
        super().__init__(errno.EINVAL, f"is {kind}, not a regular file", os.fspath(path))


class FileTooLargeError(OSError):
    """The file is larger than the caller reads."""

    def __init__(self, path: str | os.PathLike[str], size: int, limit: int) -> None:
        """Say how large it is and what the limit is."""
        super().__init__(errno.EFBIG, f"is {size} bytes, more than {limit}", os.fspath(path))


def kind_of(mode: int) -> str:
    """What a file of ``mode`` is, in words ("a FIFO", "a folder", ...)."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def read_regular(path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path``; ``OSError`` for anything else or a failed read.

    :class:`NotRegularFileError` for a FIFO, device, socket or folder (found without blocking),
    :class:`FileTooLargeError` beyond ``limit`` bytes. ``ValueError`` (a NUL in the path) is
    turned into an ``OSError`` too: every path phase7 reads may come from a plan or a config.
    """
    try:
        fd = os.open(path, _READ_FLAGS)
    except ValueError as exc:  # embedded NUL byte
        raise OSError(errno.EINVAL, f"invalid path: {exc}", os.fspath(path)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFileError(path, kind_of(info.st_mode))
        if limit is not None and info.st_size > limit:
            raise FileTooLargeError(path, info.st_size, limit)
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if limit is not None and total > limit:  # it grew while we read
                raise FileTooLargeError(path, total, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def open_append(path: str | os.PathLike[str], *, readable: bool = False) -> int:
    """A descriptor appending to the regular file ``path``; never blocks on a FIFO.

    A missing file is created (mode ``0o666`` less the umask); a FIFO or device is refused with
    :class:`NotRegularFileError`. Opening a FIFO to write blocks until a reader comes:
    ``O_NONBLOCK`` makes that fail at once (``ENXIO``) or open, and the descriptor is checked
    before anything is written. ``readable`` opens it for reading too (for ``os.pread``).
    """
    access = os.O_RDWR if readable else os.O_WRONLY
    flags = access | os.O_APPEND | os.O_CREAT | _SAFE_FLAGS
    try:
        fd = os.open(path, flags, 0o666)
    except ValueError as exc:  # embedded NUL byte
        raise OSError(errno.EINVAL, f"invalid path: {exc}", os.fspath(path)) from None
    except OSError as exc:
        # A FIFO nobody reads, a device with nothing behind it, a folder: said as what it is.
        if exc.errno in (errno.ENXIO, errno.EISDIR):
            raise NotRegularFileError(path, kind_of(os.stat(path).st_mode)) from None
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegularFileError(path, kind_of(mode))
    return fd


def usable_path(path: Path) -> Path:
    """``path`` resolved (symlinks followed); ``OSError`` if it names nothing that can be used.

    A file that does not exist yet is fine (it is made when written). A symlink loop, a name too
    long, a folder that may not be searched or a NUL byte is an ``OSError`` saying so, the same
    on every Python version (``Path.resolve`` raises ``RuntimeError`` for a loop before 3.13 and
    nothing after).
    """
    try:
        resolved = path.resolve()
    except RuntimeError:  # "Symlink loop from ...", Python < 3.13
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path)) from None
    except ValueError as exc:  # embedded NUL byte
        raise OSError(errno.EINVAL, f"invalid path: {exc}", str(path)) from None
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        os.stat(resolved)
    return resolved


def reason(exc: BaseException) -> str:
    """A one-line reason for a failed file operation: ``strerror``, else the message."""
    strerror = exc.strerror if isinstance(exc, OSError) else None
    return strerror or str(exc) or type(exc).__name__


def shorten_name(text: str, limit: int = 80) -> str:
    """``text`` quoted for a one-line message, cut in the middle beyond ``limit`` characters."""
    if len(text) <= limit:
        return repr(text)
    half = (limit - 1) // 2
    return repr(text[:half] + "…" + text[-half:]) + f" ({len(text)} characters)"


def is_regular(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` (symlinks followed) is a regular file; False for anything else."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


__all__ = [
    "FileTooLargeError",
    "NotRegularFileError",
    "is_regular",
    "kind_of",
    "open_append",
    "read_regular",
    "reason",
    "shorten_name",
    "usable_path",
]
