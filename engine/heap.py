"""Keep the garbage collector's full passes off the long-lived startup heap.

A running process holds a few hundred thousand objects that live as long as it does
(libraries, the catalog, persona models, SQLAlchemy metadata). CPython's full collections
walk all of them each time the young objects of a busy batch trigger one: about a third of
a timer tick's time (`benchmarks/timers.py`). Freezing them after startup, as the
`gc.freeze` documentation suggests for long-running servers, leaves only the objects
created since to be walked. Only long-running commands call this: frozen objects are
never collected, which suits what lives until exit and nothing else.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect once, then move every surviving object to the permanent generation."""
    gc.collect()
    gc.freeze()
