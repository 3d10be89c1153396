"""pytest-phase7: track and enforce a quality push from a work-item plan, inside pytest.

The work is a pipeline, one package per stage: ``manifest`` (read the plan) -> ``resolve`` (find
each item's target, the suite, a pull request's changes) -> ``gates`` (measure) -> ``status``
(what the results mean, the verdict) -> ``report`` (render and write it), with ``insights`` for
the optional report sections. At the top level sit the entry points and the controllers that run
the pipeline, and small utilities every stage shares:

* ``plugin``: pytest's hooks, and nothing else; ``hookspecs``: the hooks phase7 adds.
* ``activation``: whether phase7 is on for a run, decided while importing almost nothing.
* ``session``: the glue between pytest's objects and the stages; ``engine``: runs the gates.
* ``testrun``: what the session selected and measured, read from pytest's objects.
* ``helper``: the helper process that does the run's work beside the tests.
* ``plainimport``: phase7's modules imported by Python's loader, not pytest's rewriter.
* ``cli``: the ``phase7`` command; ``scaffold``: its ``init``; ``cachedir``: its pytest cache.
* ``settings``: the one option table and resolver; ``model``: the plan as frozen data.
* ``errors``, ``files``, ``atomic``, ``tomltext``, ``wording``, ``gcpause``: shared utilities.
* ``report_md``: a deprecated alias of ``report.markdown``'s escapers, for plugins.
"""

from __future__ import annotations

__version__ = "0.1.0"
