"""Status: what the gate results mean for the plan, item by item, and for the merge.

The fourth stage of the pipeline (manifest -> resolve -> gates -> status -> report).

* ``rules``: from gate results to item statuses, and from statuses to the merge verdict.
* ``baseline``: the committed floors per target, a ratchet that only goes up.
"""
