"""pytest-phase7: track and enforce a quality push from a work-item plan, inside pytest."""

from __future__ import annotations

__version__ = "0.1.0"
