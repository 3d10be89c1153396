"""Resolve: what a run checks, found before any gate runs.

The second stage of the pipeline (manifest -> resolve -> gates -> status -> report): each work
item gets its target in the repository, the session is told apart from a narrowed one, and in a
pull request the changed files and lines are read from git.

* ``targets``: each work item's target: a file, a dotted module or a package folder.
* ``project``: finding the project's manifest; the targets-table lines that fix an item.
* ``selection``: whether the session ran the project's whole suite or narrowed it.
* ``changed``: the files changed since a git ref (``--phase7-changed-since``).
* ``diffcov``: the lines a pull request changed, and how many of them the tests ran.
"""
