"""An open-loop load generator: requests at a fixed arrival schedule, latency from each
request's scheduled time (no coordinated omission).

Request ``i`` is due at ``t0 + i / rate``. At its time it takes a free keep-alive connection
from a pool (or opens one; at most ``max_connections``) and sends a raw HTTP/1.1 POST; its
latency is the time from when it was *due* until its answer was read, so a server that stalls
is charged for every request that should have been sent meanwhile, not only for the ones that
were. Late starts are counted (``late_ms_p99``: how late the generator itself started requests),
so a generator that cannot keep up says so. Runs in its own process:

    python bench/rollout/openloop.py URL BODIES RATE SECONDS OUT.json [AUTHORIZATION]
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``; 0 when empty.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([1.0, 2.0, 3.0, 4.0], 99)
    (2.0, 4.0)
    """
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


class Pool:
    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port, self.limit = host, port, limit
        self.free: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0
        self.resent = 0  # requests sent again: their kept-alive connection had been closed
        self.available = asyncio.Condition()

    async def get(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        """A connection and whether it was reused (kept alive from an earlier request)."""
        async with self.available:
            while not self.free and self.opened >= self.limit:
                await self.available.wait()
            if self.free:
                return (*self.free.pop(), True)
            self.opened += 1
        return (*await asyncio.open_connection(self.host, self.port), False)

    async def put(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
        async with self.available:
            if conn is None:
                self.opened -= 1
            else:
                self.free.append(conn)
            self.available.notify()


async def one(pool: Pool, request: bytes) -> int:
    """Send ``request`` and read its answer; its status. A kept-alive connection the server
    closed while it sat idle in the pool (uvicorn closes them after 5 s) ends before any byte
    of an answer: the request is sent again on a new connection, as HTTP clients do."""
    reader, writer, reused = await pool.get()
    conn = (reader, writer)
    try:
        writer.write(request)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            if not reused or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                raise
            pool.resent += 1
            writer.close()
            reader, writer = await asyncio.open_connection(pool.host, pool.port)
            conn = (reader, writer)
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
    except BaseException:
        await pool.put(None)
        raise
    await pool.put(conn)
    return status


async def drive(
    url: str, bodies: list[bytes], rate: float, seconds: float, auth: str = ""
) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    extra = f"Authorization: {auth}\r\n" if auth else ""
    requests = [
        (
            f"POST {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(b)}\r\n{extra}\r\n"
        ).encode()
        + b
        for b in bodies
    ]
    pool = Pool(host, port, limit=256)
    latencies: list[float] = []
    late: list[float] = []
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    total = int(rate * seconds)
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.2

    async def fire(i: int) -> None:
        due = t0 + i / rate
        late.append((loop.time() - due) * 1000)
        try:
            status = await one(pool, requests[i % len(requests)])
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            return
        latencies.append((loop.time() - due) * 1000)
        statuses[str(status)] = statuses.get(str(status), 0) + 1

    tasks = []
    for i in range(total):
        delay = t0 + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(fire(i)))
    await asyncio.gather(*tasks)
    for _, writer in pool.free:
        writer.close()
    ok = sum(v for k, v in statuses.items() if k.startswith("2"))
    return {
        "rate": rate,
        "seconds": seconds,
        "scheduled": total,
        "answered_2xx": ok,
        "statuses": statuses,
        "errors": errors,
        "connections": pool.opened,
        "resent_on_closed_keepalive": pool.resent,
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies, default=0.0), 2),
        "late_ms_p99": round(percentile(late, 99), 2),
    }


def main(argv: list[str]) -> int:
    url, bodies_path, rate, seconds, out = argv[:5]
    auth = argv[5] if len(argv) > 5 else ""
    bodies = [line.encode() for line in Path(bodies_path).read_text().splitlines() if line]
    started = time.monotonic()
    result = asyncio.run(drive(url, bodies, float(rate), float(seconds), auth))
    result["wall_s"] = round(time.monotonic() - started, 2)
    Path(out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
