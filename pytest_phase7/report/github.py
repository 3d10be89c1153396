"""What GitHub accepts: the limits the reports keep within, and where a step's summary goes.

Kept apart from the renderers so that the ``phase7`` command's help (which shows these limits
as defaults) imports nothing but the standard library.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

#: The environment variable GitHub Actions sets to ``true``.
ACTIONS_ENV = "GITHUB_ACTIONS"

#: The environment variable GitHub Actions sets to the step's summary file.
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"

#: GitHub's limit for one step's summary file (``$GITHUB_STEP_SUMMARY``), in bytes.
MAX_STEP_SUMMARY_BYTES = 1024 * 1024

#: GitHub's limit for the body of a PR comment, in characters.
MAX_COMMENT_CHARS = 65_536


def annotations_kind(setting: str | None, environ: Mapping[str, str] | None = None) -> str:
    """``github`` or ``none``: the setting, else ``github`` under GitHub Actions."""
    if setting is not None:
        return setting
    env = os.environ if environ is None else environ
    return "github" if env.get(ACTIONS_ENV) == "true" else "none"
