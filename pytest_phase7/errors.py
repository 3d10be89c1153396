"""The plugin's own exceptions and warnings.

Every user-facing failure is one of these, carrying ``file:line`` and a one-line message, so the
plugin can turn it into a usage error instead of a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

    class Phase7Warning(pytest.PytestWarning):
        """Base of pytest-phase7's warnings."""

    class ManifestWarning(Phase7Warning):
        """A manifest problem that does not stop the run (e.g. declared items no batch covers)."""


#: The warning classes, defined on first use by :func:`__getattr__`.
_WARNINGS = ("Phase7Warning", "ManifestWarning")


class Phase7Error(Exception):
    """Base of every error pytest-phase7 reports to the user instead of a traceback."""

    def __init__(self, message: str, path: str = "", line: int = 0) -> None:
        """Remember where the problem is; ``line`` 0 means the file as a whole."""
        self.message = message
        self.path = path
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        """Render as ``path:line: message``."""
        if self.path and self.line:
            return f"{self.path}:{self.line}: {self.message}"
        if self.path:
            return f"{self.path}: {self.message}"
        return self.message


class ManifestError(Phase7Error):
    """The work-item manifest cannot be read or is inconsistent."""


class ConfigError(Phase7Error):
    """A phase7 setting (CLI, ini or ``[tool.phase7]``) has a bad value."""


def __getattr__(name: str) -> type[Warning]:
    """Define the warning classes when first asked for (PEP 562).

    They subclass pytest's ``PytestWarning``, but the ``phase7`` command imports this module
    where pytest may not be installed (the pre-commit hook installs pytest-phase7 without its
    dependencies): ``import pytest`` waits until a warning class is used.
    """
    if name not in _WARNINGS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import pytest  # noqa: PLC0415

    class Phase7Warning(pytest.PytestWarning):
        """Base of pytest-phase7's warnings."""

    class ManifestWarning(Phase7Warning):
        """A manifest problem that does not stop the run (e.g. declared items no batch covers)."""

    defined: dict[str, type[Warning]] = {}
    for cls in (Phase7Warning, ManifestWarning):
        cls.__qualname__ = cls.__name__
        defined[cls.__name__] = cls
    globals().update(defined)
    return defined[name]
