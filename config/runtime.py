"""Process-level tuning applied once a server or worker process has finished starting.

Python's cyclic garbage collector runs a young-generation pass every 700 net allocations and
now and then a full pass over every object in the process. A request or a workflow step
allocates tens of thousands of short-lived objects (ORM rows, SpiffWorkflow tasks, JSON), so
with the defaults a single step triggers many passes, and each full pass walks the whole of
Django, DRF and SpiffWorkflow loaded at start-up. `gc.freeze()` moves everything alive after
start-up out of the collector's sight, and a higher first threshold makes passes rarer;
reference counting still frees almost everything at once, so memory does not grow
(docs/benchmarks.md, fix F11, measured the effect).
"""

import gc

GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
