"""Micro-batching: requests for one version wait at most ``max_wait`` to share a model call.

One batch is in flight per version at a time; requests that arrive meanwhile form the next
batch, so batches grow with load and an idle server adds at most ``max_wait`` to a request.
The model runs in a worker thread (the event loop keeps accepting requests and a request's
timeout can fire while the model is still busy) or, with no executor, on the event loop itself.
A full queue raises :class:`~liveops.errors.OverloadedError` (429 with Retry-After) instead of
growing without bound.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

from liveops.errors import OverloadedError

__all__ = ["Batcher", "Job"]

PENDING, TAKEN, ABANDONED = 0, 1, 2


class Job:
    """One request's instances, waiting for a model call."""

    __slots__ = (
        "caller", "enqueued", "extra", "future", "ids", "records", "shadow_of", "state", "t0", "ts",
    )  # fmt: skip

    def __init__(
        self,
        records: Sequence[Mapping[str, Any]],
        ids: Sequence[str],
        ts: float,
        caller: str | None,
        future: asyncio.Future[Any],
        extra: Any = None,
        t0: float | None = None,
        shadow_of: Sequence[str] | None = None,
    ) -> None:
        self.records = records
        self.ids = ids
        self.ts = ts  # the request's time, as logged (a simulated one with a time override)
        self.t0 = ts if t0 is None else t0  # when it arrived by the wall clock: latency
        self.caller = caller
        self.future = future
        self.extra = extra  # e.g. why this job is a fallback call
        # A shadow copy: the ids of the answers that were served, one per record (logged at
        # the end of each shadow answer's reason, so the pairs can be joined).
        self.shadow_of = shadow_of
        self.state = PENDING
        self.enqueued = 0.0


# Claiming a job is rare-path only under contention (timeouts), so one lock for all is fine.
_claim_lock = threading.Lock()


def claim(job: Job, as_state: int) -> bool:
    """Take ``job`` for the batch (TAKEN) or for its timeout (ABANDONED); first one wins."""
    with _claim_lock:
        if job.state != PENDING:
            return False
        job.state = as_state
        return True


BatchRunner = Callable[[list[Job]], list[Any]]


class Batcher:
    """Collects :class:`Job` s on the event loop and runs them in batches on ``executor``.

    ``run(jobs)`` runs in the worker thread and returns one result per job (or raises: every
    job then gets the exception). It should ``claim(job, TAKEN)`` before committing a job.
    """

    def __init__(
        self,
        run: BatchRunner,
        executor: Executor | None,
        *,
        max_batch: int,
        max_wait_s: float,
        max_queue: int,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._run = run
        self._executor = executor
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.max_queue = max_queue
        self._on_batch = on_batch
        self._queue: deque[Job] = deque()
        self._queued_records = 0
        self._running_records = 0
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def depth(self) -> int:
        """Records waiting (not yet in the model)."""
        return self._queued_records

    @property
    def running(self) -> int:
        """Records in the model call under way (0: the model is idle)."""
        return self._running_records

    def submit(self, job: Job) -> None:
        """Queue ``job`` (call on the event loop); its future gets the result."""
        if self._queued_records + len(job.records) > self.max_queue:
            raise OverloadedError(
                f"the queue for this version is full ({self._queued_records} records waiting)",
                retry_after_s=1.0,
                hint="retry after the Retry-After delay, or add gateway workers",
            )
        job.enqueued = time.monotonic()
        self._queue.append(job)
        self._queued_records += len(job.records)
        if self._task is None:
            self._wakeup = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._loop())
        assert self._wakeup is not None
        self._wakeup.set()

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _loop(self) -> None:
        assert self._wakeup is not None
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if self._queued_records < self.max_batch and self.max_wait_s > 0:
                # Wait from the first job's arrival: jobs that queued behind a busy model have
                # already waited and go at once.
                delay = self._queue[0].enqueued + self.max_wait_s - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif self._executor is None:
                    # The model ran on the loop, so nothing was read meanwhile: let the loop
                    # send the answers and read the requests that wait in the sockets first.
                    await asyncio.sleep(0)
                    await asyncio.sleep(0)
            batch = self._take()
            if not batch:
                continue
            self._running_records = sum(len(job.records) for job in batch)
            try:
                if self._executor is None:
                    results: list[Any] = self._run(batch)  # on the loop: no thread handoff
                else:
                    results = await loop.run_in_executor(self._executor, self._run, batch)
            except Exception as exc:
                results = [exc] * len(batch)
            self._running_records = 0
            for job, result in zip(batch, results, strict=True):
                if job.future.done():
                    continue
                if isinstance(result, BaseException):
                    job.future.set_exception(result)
                else:
                    job.future.set_result(result)

    def _take(self) -> list[Job]:
        batch: list[Job] = []
        n = 0
        while self._queue and (not batch or n + len(self._queue[0].records) <= self.max_batch):
            job = self._queue.popleft()
            self._queued_records -= len(job.records)
            if job.state != PENDING or job.future.done():
                continue  # its caller gave up (timeout) and answered from the fallback
            batch.append(job)
            n += len(job.records)
        if batch and self._on_batch is not None:
            self._on_batch(n)
        return batch
