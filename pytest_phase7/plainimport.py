"""phase7's own modules imported by Python's loader, not by pytest's assertion rewriter.

pytest marks every package of a distribution with a ``pytest11`` entry point for assertion
rewriting, so phase7's modules would be imported through its rewriting hook: a second search
of ``sys.path`` for each, the source read and hashed, and the cached bytecode read with
``marshal.load`` from a file object, about five times slower than Python's own loader reads a
``.pyc``. Rewriting buys nothing here (phase7's code is not test code; its asserts are never
a test's), and on a warm run those imports are most of what phase7 adds to the test run.
:func:`plain_imports` puts a finder for phase7's submodules ahead of pytest's hook while the
plugin imports its option table and, when phase7 is on, while the run's modules are imported
at start-up; it finds them with Python's path finder, as if pytest were not there.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from types import ModuleType

PACKAGE = __name__.rpartition(".")[0]


class OwnModuleFinder(importlib.abc.MetaPathFinder):
    """Find phase7's submodules with Python's path finder; leave every other module alone."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        """Python's own spec for a phase7 submodule (None for anything else)."""
        if not fullname.startswith(PACKAGE + ".") or path is None:
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, path, target)


@contextmanager
def plain_imports() -> Iterator[None]:
    """While open, phase7's submodules are imported by Python's loader (see the module doc)."""
    finder = OwnModuleFinder()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
