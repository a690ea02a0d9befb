"""How long the outage tests keep the database away.

``OUTAGE_S`` (8 s; ``LIVEOPS_TEST_OUTAGE_S=30`` for the long form) outlasts everything the
prediction log's writer waits for by several times: its retry backoff reaches its ceiling (2 s in
the gateway, 1 s in the resilience tests) after about 3 s and is then retried at that ceiling; a
SQLite attempt waits at most 1 s for the write lock; the paused proxy refuses connections at
once. A writer that blocked instead of failing and retrying (a 30 s busy wait, say) would still
be in its first attempt when the outage ends, and the tests' checks made during the outage
(``database_ok`` 0, a growing backlog) would fail; a longer outage shows nothing more."""

from __future__ import annotations

import os

OUTAGE_S = float(os.environ.get("LIVEOPS_TEST_OUTAGE_S", "8"))
