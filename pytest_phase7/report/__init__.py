"""Report: what a run found, rendered for each reader, and the one policy of where it may go.

The last stage of the pipeline (manifest -> resolve -> gates -> status -> report). The model
holds the data every renderer reads; the renderers import the model, never the other way round.

* ``model``: :class:`~pytest_phase7.report.model.ReportData` and the summaries every renderer
  shows (progress, success criteria, table rows, item details).
* ``terminal``: the Phase 7 status table pytest prints, as lines of styled segments.
* ``markdown``: the Markdown report and step summary, and the escaping sections use.
* ``json``: the versioned JSON report, and reading it back into the model.
* ``write``: writing the Markdown and JSON files and appending to the step summary.
* ``findings``: the run's findings with their level and a fingerprint, for the formats below.
* ``annotations``: findings as GitHub workflow commands (annotations on the diff).
* ``sarif``: findings as SARIF 2.1.0 for GitHub code scanning.
* ``codeclimate``: findings as a GitLab Code Quality report.
* ``writeback``: the derived statuses written back into the plan, touching nothing else.
* ``outputs``: where phase7 may write: the path policy checked before anything runs.
* ``github``: GitHub's limits (step summary, PR comment) the reports keep within.
"""
