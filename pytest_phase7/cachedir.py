"""pytest's cache folder, for the ``phase7`` command, which runs without pytest.

``pytest --phase7`` keeps its gate results and coverage analyses in pytest's cache
(``config.cache``). The ``phase7`` command reads and writes the same folder in pytest's own
layout: one JSON file per key under ``<cache_dir>/v/``. So a ``phase7 gate`` after a
``pytest --phase7`` run, or in a CI job that restored ``.pytest_cache``, starts warm, and each
sees what the other cached. A value that cannot be read is a miss. A value that cannot be
written costs only the cache, and the first such failure is kept in :attr:`CacheDirStore.problem`
for the command to report.
"""

from __future__ import annotations

import contextlib
import errno
import json
import shutil
from pathlib import Path

from pytest_phase7.atomic import create_new_folder, write_atomic

#: pytest's default ``cache_dir``, relative to the rootdir.
DEFAULT_CACHE_DIR = ".pytest_cache"

#: The subfolder pytest keeps values in (``Cache._CACHE_PREFIX_VALUES``).
VALUES = "v"

#: What pytest puts into a new cache folder, so that it stays out of git and of backups.
SUPPORTING_FILES = {
    "README.md": b"# pytest cache directory #\n\nCreated by pytest-phase7 in pytest's layout; "
    b"pytest uses it as its own. Do not commit it.\n",
    ".gitignore": b"# Created by pytest-phase7 automatically.\n*\n",
    "CACHEDIR.TAG": b"Signature: 8a477f597d28d172789f06886806bc55\n"
    b"# This file is a cache directory tag created by pytest-phase7.\n"
    b"# For information about cache directory tags, see:\n"
    b"#\thttps://bford.info/cachedir/spec.html\n",
}


class CacheDirStore:
    """A ``ResultStore`` on a pytest cache folder (``get``/``set`` as ``config.cache`` has them)."""

    def __init__(self, cache_dir: Path) -> None:
        """Use ``cache_dir`` (created, with pytest's supporting files, on the first write)."""
        self.cache_dir = cache_dir
        #: Why a value could not be written (the first failure), or "".
        self.problem = ""

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"cache key {key!r} would leave the cache folder")
        return self.cache_dir.joinpath(VALUES, *parts)

    def get(self, key: str, default: object) -> object:
        """The stored value, or ``default`` when there is none or it cannot be read."""
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return default

    def set(self, key: str, value: object) -> None:
        """Store a JSON-serialisable value, as pytest would (atomically, so never torn)."""
        if self.problem:
            return  # one failure says enough; the next writes would fail alike
        path = self._path(key)
        try:
            self._ensure_folder()
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8"))
        except OSError as exc:
            self.problem = f"cannot write the cache in {self.cache_dir}: {exc}"

    def _ensure_folder(self) -> None:
        """Create the cache folder with its supporting files, in one rename (as pytest does)."""
        if self.cache_dir.is_dir():
            return
        self.cache_dir.parent.mkdir(parents=True, exist_ok=True)
        # Not mkdtemp: it makes the folder private, and pytest's is not (the umask decides).
        staging = create_new_folder(self.cache_dir.parent, "phase7-cache-")
        try:
            for name, content in SUPPORTING_FILES.items():
                (staging / name).write_bytes(content)
            try:
                staging.rename(self.cache_dir)
            except OSError as exc:
                # Another process (pytest itself, say) made it first: use theirs.
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(staging)
