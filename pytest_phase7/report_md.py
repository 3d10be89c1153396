"""Deprecated: the escapers are in :mod:`pytest_phase7.report.markdown`.

Kept because the README and the ``pytest_phase7_report_sections`` hook documented
``pytest_phase7.report_md.escape`` (and ``cell``) for plugins' report sections; importing this
module warns, and it goes in a future release.
"""

from __future__ import annotations

import warnings

from pytest_phase7.report.markdown import cell, escape

__all__ = ["cell", "escape"]

warnings.warn(
    "pytest_phase7.report_md is deprecated: import escape and cell from "
    "pytest_phase7.report.markdown",
    DeprecationWarning,
    stacklevel=2,
)
