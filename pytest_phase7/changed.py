"""Which files changed since a git ref: for ``--phase7-changed-since`` (pull-request mode).

The comparison is against the merge-base of ``HEAD`` and the ref (as a PR diff is), and covers
committed, staged, unstaged and untracked (not ignored) changes. git is run with argument lists
only; any failure is a :class:`~pytest_phase7.errors.ConfigError` with a hint, never a silent
"nothing changed".
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pytest_phase7.errors import ConfigError

GIT_TIMEOUT_SECONDS = 60.0


def git_output(args: list[str], cwd: Path) -> str:
    """Run git with an argument list; its stdout, or a ConfigError saying what failed."""
    git = shutil.which("git")
    if git is None:
        raise ConfigError("--phase7-changed-since needs git, which is not on PATH")
    try:
        proc = subprocess.run(
            [git, *args],
            cwd=cwd,
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"git {args[0]} failed: {exc}") from None
    if proc.returncode != 0:
        reason = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ConfigError(
            f"git {' '.join(args[:2])} failed: {reason[-1] if reason else proc.returncode}"
        )
    return proc.stdout.decode("utf-8", "surrogateescape")


def merge_base(rootdir: Path, ref: str) -> tuple[Path, str]:
    """The repository's top folder and the merge-base commit of ``HEAD`` and ``ref``."""
    if ref.startswith("-"):
        raise ConfigError(f"--phase7-changed-since: {ref!r} is not a git ref")
    toplevel = Path(git_output(["rev-parse", "--show-toplevel"], rootdir).strip())
    base = git_output(["merge-base", "HEAD", ref], rootdir).strip()
    return toplevel, base


def changed_files(rootdir: Path, ref: str) -> frozenset[str]:
    """Rootdir-relative POSIX paths of the files changed since the merge-base with ``ref``."""
    toplevel, base = merge_base(rootdir, ref)
    return changed_since(rootdir, toplevel, base)


def changed_since(rootdir: Path, toplevel: Path, base: str) -> frozenset[str]:
    """:func:`changed_files` once the merge-base is known: diffed and untracked files."""
    names = git_output(["diff", "--name-only", "-z", base, "--"], toplevel).split("\0")
    names += untracked_files(toplevel)
    real_root = Path(os.path.realpath(rootdir))
    changed = {in_rootdir(real_root, toplevel, name) for name in filter(None, names)}
    return frozenset(name for name in changed if name is not None)


def untracked_files(toplevel: Path) -> list[str]:
    """Files git does not track and does not ignore, relative to the repository's top."""
    listed = git_output(["ls-files", "--others", "--exclude-standard", "-z"], toplevel)
    return [name for name in listed.split("\0") if name]


def in_rootdir(real_root: Path, toplevel: Path, name: str) -> str | None:
    """A repository path (relative to ``toplevel``) relative to the rootdir; None outside it.

    ``real_root`` is the rootdir with its symlinks resolved.
    """
    absolute = Path(os.path.realpath(toplevel / name))
    if absolute == real_root or real_root in absolute.parents:
        return absolute.relative_to(real_root).as_posix()
    return None
