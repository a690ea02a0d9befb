"""The Starlette peers: the demo's v1 model in small endpoints on liveops' uvicorn settings.

Run as ``python peer_starlette.py MODE --model PATH --port N`` in the project venv (the same
Starlette, uvicorn, uvloop and httptools as ``liveops serve``), one worker:

- ``bare``: parse ``{"inputs": {...}}``, ``predict_proba`` on the one text, answer the same
  per-instance fields as liveops (label, confidence, scores, version, decision); unbatched.
- ``microbatch``: the same answer, requests gathered for at most 1 ms (or 64 requests) and
  scored in one ``predict_proba`` call; no logging. The ceiling for a batched server here.
- ``noop``: reads the body and answers a constant: the HTTP stack's own ceiling.
- ``standin``: ``microbatch`` plus a prediction id per answer and a writer thread that inserts
  the records into SQLite in batches. It stands in for ``liveops serve`` while the gateway
  does not exist yet, so the harness (ids, log matching) can be exercised; results from it
  are labelled ``liveops-standin``.
"""

from __future__ import annotations

import argparse
import asyncio
import queue
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

MODES = ("bare", "microbatch", "noop", "standin")
THRESHOLD = 0.70  # the demo's decision threshold for v1
PREDICT_PATH = "/v1/services/support-router/predict"
JSON = "application/json"

Scorer = Callable[[list[str]], Any]


def load_model(path: str) -> Any:
    """The demo's v1 pipeline, saved by ``liveops demo`` with skops."""
    import skops.io as sio

    return sio.load(path, trusted=[])


def answer(classes: list[str], row: Any) -> dict[str, Any]:
    """One instance's answer: the fields liveops returns, minus the logging ones."""
    i = int(np.argmax(row))
    confidence = float(row[i])
    return {
        "label": classes[i],
        "confidence": confidence,
        "scores": {c: float(s) for c, s in zip(classes, row, strict=True)},
        "version": 1,
        "decision": "automatic" if confidence >= THRESHOLD else "human_review",
        "fallback": None,
    }


def read_text(body: bytes) -> str | None:
    """The ``inputs.text`` of a request body, or None when the body is not that shape."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    inputs = payload.get("inputs") if isinstance(payload, dict) else None
    text = inputs.get("text") if isinstance(inputs, dict) else None
    return text if isinstance(text, str) else None


class MicroBatcher:
    """Gathers single texts for up to ``max_wait`` seconds (or ``max_batch`` texts) and scores
    them in one call on the event loop; each caller awaits its own row."""

    def __init__(self, score: Scorer, max_batch: int = 64, max_wait: float = 0.001) -> None:
        self.score, self.max_batch, self.max_wait = score, max_batch, max_wait
        self.pending: list[tuple[str, asyncio.Future[Any]]] = []
        self.timer: asyncio.TimerHandle | None = None

    async def submit(self, text: str) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self.pending.append((text, future))
        if len(self.pending) >= self.max_batch:
            self.flush()
        elif self.timer is None:
            self.timer = loop.call_later(self.max_wait, self.flush)
        return await future

    def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            rows = self.score([text for text, _ in batch])
        except Exception as exc:  # one failure answers the whole batch with it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), row in zip(batch, rows, strict=True):
            if not future.done():
                future.set_result(row)


class SqliteLog:
    """The stand-in's prediction log: a queue and a thread inserting batches into SQLite."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.queue: queue.SimpleQueue[tuple[str, str, float] | None] = queue.SimpleQueue()
        con = sqlite3.connect(path)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(
            "CREATE TABLE IF NOT EXISTS predictions "
            "(prediction_id TEXT PRIMARY KEY, service TEXT, label TEXT, ts REAL)"
        )
        con.commit()
        con.close()
        self.thread = threading.Thread(target=self._run, name="standin-log", daemon=True)
        self.thread.start()

    def put(self, prediction_id: str, label: str) -> None:
        self.queue.put((prediction_id, label, time.time()))

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=30)

    def _run(self) -> None:
        con = sqlite3.connect(self.path)
        stop = False
        while not stop:
            rows: list[tuple[str, str, float]] = []
            deadline = time.monotonic() + 0.2
            while time.monotonic() < deadline:
                try:
                    item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                rows.append(item)
            if rows:
                con.executemany(
                    "INSERT OR IGNORE INTO predictions VALUES (?, 'support-router', ?, ?)", rows
                )
                con.commit()
        con.close()


def build_app(mode: str, model_path: str, log_path: str | None = None) -> Starlette:
    """The ASGI app for ``mode`` (see the module docstring)."""
    if mode not in MODES:
        raise SystemExit(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type=JSON)

    routes = [Route("/healthz", healthz)]
    if mode == "noop":
        constant = orjson.dumps({"label": "general", "confidence": 1.0})

        async def noop(request: Request) -> Response:
            await request.body()
            return Response(constant, media_type=JSON)

        routes.append(Route(PREDICT_PATH, noop, methods=["POST"]))
        return Starlette(routes=routes)

    model = load_model(model_path)
    classes = [str(c) for c in model.classes_]
    handler: Callable[[Request], Awaitable[Response]]

    async def bad_request() -> Response:
        return Response(b'{"error":"body must be {\\"inputs\\": {\\"text\\": ...}}"}', 422)

    if mode == "bare":

        async def bare(request: Request) -> Response:
            text = read_text(await request.body())
            if text is None:
                return await bad_request()
            row = model.predict_proba([text])[0]
            return Response(orjson.dumps(answer(classes, row)), media_type=JSON)

        handler = bare
    else:
        batcher = MicroBatcher(model.predict_proba)
        log = SqliteLog(log_path or "standin-log.db") if mode == "standin" else None
        from liveops.core.serving.prediction import new_prediction_id

        async def batched(request: Request) -> Response:
            text = read_text(await request.body())
            if text is None:
                return await bad_request()
            row = await batcher.submit(text)
            result = answer(classes, row)
            if log is not None:
                result = {"prediction_id": new_prediction_id(time.time()), **result}
                log.put(result["prediction_id"], result["label"])
            return Response(orjson.dumps(result), media_type=JSON)

        handler = batched

        if log is not None:

            @asynccontextmanager
            async def lifespan(app: Starlette) -> AsyncIterator[None]:
                yield
                log.close()

            routes.append(Route(PREDICT_PATH, handler, methods=["POST"]))
            return Starlette(routes=routes, lifespan=lifespan)

    routes.append(Route(PREDICT_PATH, handler, methods=["POST"]))
    return Starlette(routes=routes)


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("--model", default="", help="the demo's support-router-v1.skops")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--log-db", default=None, help="standin: the SQLite log file")
    args = parser.parse_args(argv)
    app = build_app(args.mode, args.model, args.log_db)
    # liveops serve's settings: uvloop, httptools, one worker, no access log.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        workers=1,
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
