"""Batch scoring: a file of rows scored by a version as the gateway would answer them.

:func:`run_batch` reads the input in chunks (CSV, Parquet, JSONL, a folder of Parquet), checks
each row against the service's inputs (rejects go to a file, with the reason), applies the
version's model and decision layer, writes the outputs beside the input's id column and logs
every answer with ``source: batch``; an interrupted run resumes from its finished chunks. The
chunks are scored by an engine: local worker processes or Ray Data (an optional extra).
See docs/batch.md.
"""

from __future__ import annotations

from liveops.services.batch.engines import ENGINES
from liveops.services.batch.run import BatchOptions, BatchSummary, run_batch

__all__ = ["ENGINES", "BatchOptions", "BatchSummary", "run_batch"]
