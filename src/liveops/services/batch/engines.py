"""Where chunks are scored: one interface, two engines.

- ``local``: worker processes on this machine (``workers`` of them; 1 scores in the calling
  process, which costs the least CPU). Each worker loads the version once.
- ``ray``: Ray Data's ``map_batches`` over the chunks, one chunk per block, on a local Ray or a
  cluster (``address``). Its actors build the same :class:`~liveops.services.batch.score.Scorer`
  as a local worker, so answers, log records and parts are identical. Ray is an optional extra
  (``pip install 'liveops[ray]'``), imported only here, only when this engine runs. The chunks
  go to Ray in windows of a few per worker, so memory stays bounded by the chunk size; each
  window starts its actors (and loads the model) again, part of Ray's start-up cost.

Both read the input in the driver (the same reader, so the same chunks and row indices) and
keep only a few chunks in flight.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

from liveops import errors
from liveops.errors import LiveopsError, UsageError
from liveops.services.batch.inputs import Chunk
from liveops.services.batch.score import Scorer, ScorerSpec
from liveops.services.ray_runtime import start_ray
from liveops.store import Store

__all__ = ["ENGINES", "Engine", "LocalEngine", "RayEngine", "make_engine"]

ENGINES = ("local", "ray")
Done = Callable[[dict[str, Any]], None]
_CHUNK = "__liveops_chunk"
_FIRST = "__liveops_first"


class Engine(Protocol):
    """Scores every chunk and calls ``done`` with each one's counts (in any order)."""

    name: str

    def run(self, chunks: Iterator[Chunk], spec: ScorerSpec, done: Done) -> None: ...


class LocalEngine:
    """Worker processes (or, with one worker, the calling process)."""

    name = "local"

    def __init__(self, workers: int, store: Store | None = None) -> None:
        self.workers = workers
        self.store = store  # shared with an in-process scorer (an in-memory database needs it)

    def run(self, chunks: Iterator[Chunk], spec: ScorerSpec, done: Done) -> None:
        if self.workers <= 1:
            scorer = Scorer(spec, self.store)
            try:
                for c in chunks:
                    done(scorer.score(c.index, c.first_row, c.table))
            finally:
                scorer.close()
            return
        import multiprocessing

        # spawn: a fork would copy the driver's database connections and threads
        ctx = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            self.workers, mp_context=ctx, initializer=_init_worker, initargs=(spec,)
        )
        inflight: set[Future[Any]] = set()
        try:
            for c in chunks:
                inflight.add(pool.submit(_score_in_worker, c.index, c.first_row, c.table))
                if len(inflight) >= 2 * self.workers:
                    inflight = _drain(inflight, done, FIRST_COMPLETED)
            _drain(inflight, done, None)
        finally:
            # After Ctrl-C: running chunks finish (workers ignore SIGINT), queued ones never
            # start; their parts are missing, so --resume scores them.
            pool.shutdown(wait=True, cancel_futures=True)


def _drain(inflight: set[Future[Any]], done: Done, when: str | None) -> set[Future[Any]]:
    finished, rest = wait(inflight, return_when=when or "ALL_COMPLETED")
    for f in finished:
        done(_unwrap(f.result()))
    return rest


_worker: Scorer | None = None


def _init_worker(spec: ScorerSpec) -> None:
    global _worker  # one scorer per worker process, loaded once
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides when to stop
    try:
        _worker = Scorer(spec)
    except LiveopsError:
        _worker = None  # reported by the first chunk, with the message


def _score_in_worker(index: int, first_row: int, table: Any) -> dict[str, Any]:
    try:
        if _worker is None:
            raise errors.ModelUnavailableError("the worker could not load the version")
        return _worker.score(index, first_row, table)
    except LiveopsError as exc:  # errors travel as data: their hints survive the pickling
        return {"__error__": type(exc).__name__, "message": exc.message, "hint": exc.hint}


def _unwrap(result: dict[str, Any]) -> dict[str, Any]:
    if "__error__" in result:
        cls = getattr(errors, result["__error__"], LiveopsError)
        raise cls(result["message"], hint=result["hint"])
    return result


class RayEngine:
    """Ray Data ``map_batches``; ``address`` None starts a local Ray on ``workers`` CPUs."""

    name = "ray"

    def __init__(self, workers: int, address: str | None = None, window: int = 0) -> None:
        self.workers = workers
        self.address = address
        self.window = window or 4 * workers

    def run(self, chunks: Iterator[Chunk], spec: ScorerSpec, done: Done) -> None:
        ray = start_ray(self.address, num_cpus=self.workers)
        window: list[Chunk] = []
        for c in chunks:
            window.append(c)
            if len(window) >= self.window:
                self._score(ray, window, spec, done)
                window = []
        if window:
            self._score(ray, window, spec, done)

    def _score(self, ray: Any, window: list[Chunk], spec: ScorerSpec, done: Done) -> None:
        import pyarrow as pa

        blocks = []
        for c in window:
            n = c.table.num_rows
            t = c.table.append_column(_CHUNK, pa.array([c.index] * n, pa.int64()))
            blocks.append(t.append_column(_FIRST, pa.array([c.first_row] * n, pa.int64())))
        ds = ray.data.from_arrow(blocks).map_batches(
            RayScorer,
            fn_constructor_args=(spec,),
            batch_size=None,  # a whole block, that is one chunk, per call
            batch_format="pyarrow",
            concurrency=min(self.workers, len(window)),
        )
        for row in ds.take_all():
            done(_unwrap(orjson_loads(row["stats"])))


def orjson_loads(raw: Any) -> dict[str, Any]:
    import orjson

    data: dict[str, Any] = orjson.loads(raw)
    return data


class RayScorer:
    """The callable class ``map_batches`` runs in each Ray actor."""

    def __init__(self, spec: ScorerSpec) -> None:
        self.spec = spec
        try:
            self.scorer: Scorer | None = Scorer(spec)
            self.error: dict[str, Any] | None = None
        except LiveopsError as exc:
            self.scorer = None
            self.error = {"__error__": type(exc).__name__, "message": exc.message}
            self.error["hint"] = exc.hint

    def __call__(self, batch: Any) -> Any:
        import orjson
        import pyarrow as pa
        import pyarrow.compute as pc

        stats = []
        for index in pc.unique(batch.column(_CHUNK)).to_pylist():
            part = batch.filter(pc.equal(batch.column(_CHUNK), index))
            first = part.column(_FIRST)[0].as_py()
            table = part.drop_columns([_CHUNK, _FIRST])
            if self.scorer is None:
                result = self.error or {}
            else:
                try:
                    result = self.scorer.score(index, first, table)
                except LiveopsError as exc:
                    result = {"__error__": type(exc).__name__, "message": exc.message}
                    result["hint"] = exc.hint
            stats.append(orjson.dumps(result))
        return pa.table({"stats": pa.array(stats, pa.binary())})


def make_engine(
    name: str, workers: int | None, address: str | None, store: Store | None
) -> LocalEngine | RayEngine:
    """The engine ``name`` with ``workers`` (default: the machine's cores)."""
    n = workers if workers is not None else (os.cpu_count() or 1)
    if n < 1:
        raise UsageError(f"--workers must be at least 1, got {n}")
    if name == "local":
        if address is not None:
            raise UsageError("--address applies to --engine ray only")
        return LocalEngine(n, store)
    if name == "ray":
        return RayEngine(n, address)
    raise UsageError(f"unknown engine {name!r}", hint=f"one of {', '.join(ENGINES)}")
