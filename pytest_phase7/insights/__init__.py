"""Insights: the optional report sections, from the run and from the runs before it.

The sections are shipped as an ordinary ``pytest_phase7_report_sections`` implementation, the
hook third parties use too. The history also gives the status rule an item's first recorded
metrics, its starting point.

* ``sections``: the built-in implementation: the Owners and Trends sections, and recording a run.
* ``history``: ``--phase7-history``: one JSON line per run, and the changes between runs.
* ``owners``: per-owner results for plans with an Owner, Assignee or Model column.
"""
