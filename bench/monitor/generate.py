"""A seeded week of logged predictions and their feedback, as numpy columns, and its bulk load.

The traffic is a support-ticket router's: six labels, three versions (v1 in production for the
first four days with v2 as a 10 % canary from day two; then v2 in production with v3 as the
canary), a few kill-switch answers without a version, three segment fields in the log's own
columns (channel, plan, language: three declared values each, plus values outside them that
count as ``other``), confidences that are higher when the answer is right, human review below
0.35, a rules fallback below 0.45, timeouts and model errors, log-normal latencies per version
and a cost per version (unknown for a share of v1's answers). Rows are stored a fraction of a
second after their request time; a few are replayed from a spool minutes to hours later.

Feedback arrives hours to days after the prediction (labels from agents, some first wrong and
then superseded by the right one; ratings from users; corrections), and only what has arrived
by the end of the week is stored.

The rows go straight into the store's tables, not through the gateway: on SQLite with the log
writer's own bulk insert (:meth:`PredictionStore.insert_batch`, one executemany per chunk), on
PostgreSQL with ``COPY``. Feedback goes in with one executemany per chunk on both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from sqlalchemy import insert
from ulid import ULID

from liveops.core.project import parse_project
from liveops.services.registry import apply_project
from liveops.store import Store
from liveops.store.prediction_tables import feedback as feedback_table
from liveops.store.prediction_tables import predictions as predictions_table

__all__ = ["SERVICE", "Feedback", "Log", "apply_service", "generate", "load", "more_rows"]

Array = np.ndarray[Any, Any]

SERVICE = "bench-router"
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, a window boundary
DAY_S = 86_400
LABELS = ("billing", "refund", "technical", "account", "shipping", "other")
PRIORS = (0.28, 0.14, 0.24, 0.14, 0.12, 0.08)
CHANNELS = ("web", "email", "chat")
PLANS = ("free", "pro", "enterprise")
LANGUAGES = ("en", "es", "fr")
# What the log holds: the declared values and some outside them (-> FIELD=other).
CHANNEL_LOGGED = (("web", 0.5), ("email", 0.3), ("chat", 0.19), ("phone", 0.01))
PLAN_LOGGED = (("free", 0.6), ("pro", 0.3), ("enterprise", 0.09), (None, 0.01))
LANGUAGE_LOGGED = (("en", 0.6), ("es", 0.24), ("fr", 0.1), ("de", 0.06))

PROJECT_YAML = f"""
services:
  - name: {SERVICE}
    owner: support@example.com
    inputs:
      text: {{type: string, required: true}}
      channel: {{type: enum, values: [{", ".join(CHANNELS)}]}}
      plan: {{type: enum, values: [{", ".join(PLANS)}]}}
      language: {{type: enum, values: [{", ".join(LANGUAGES)}]}}
    model_inputs: [text]
    output: {{labels: [{", ".join(LABELS)}]}}
"""

_SENTENCES = (
    "my invoice shows a double charge please refund the order never arrived the app crashes "
    "when I log in reset my password change the delivery address cancel my plan the tracking "
    "number does not work I was billed twice after the update nothing loads"
)
_WORDS = _SENTENCES.split(" ")


@dataclass
class Log:
    """The logged rows as columns (index-aligned); strings as indices into their vocabularies."""

    ts: Array  # float seconds since the epoch (microsecond resolution)
    logged_at: Array  # float seconds since the epoch
    version: Array  # int, 0: no version answered (kill switch)
    arm: Array  # index into ARMS
    label: Array  # index into LABELS, -1: no label answered
    truth: Array  # the right label (index into LABELS): the generator knows it
    confidence: Array  # float, nan: none
    decision: Array  # index into DECISIONS
    kind: Array  # index into KINDS: what happened (ok, review, below, timeout, error, kill)
    latency_ms: Array
    cost: Array  # float, nan: unknown
    channel: Array  # index into the *_LOGGED values
    plan: Array
    language: Array
    text_len: Array
    ids: list[str]

    @property
    def n(self) -> int:
        return int(self.ts.size)

    def window(self) -> Array:
        return np.floor(self.ts / 300).astype(np.int64)


ARMS = ("production", "canary")
DECISIONS = ("automatic", "human_review", "fallback")
KINDS = ("ok", "review", "below", "timeout", "error", "kill")


@dataclass
class Feedback:
    """The stored feedback rows as columns; ``row`` is the prediction's index in the log."""

    row: Array
    kind: Array  # 0 label, 1 rating, 2 correction
    value: Array  # label: index into LABELS; rating: 1..5; correction: index into LABELS
    created_at: Array  # float seconds
    superseded: Array  # bool: a newer label from the same source replaced it
    ids: list[str]

    @property
    def n(self) -> int:
        return int(self.row.size)


def apply_service(store: Store) -> None:
    """Declare the benchmark's service (its segment fields fix the 12 segment slices)."""
    apply_project(store, parse_project(PROJECT_YAML), actor="bench")


def _times(rng: np.random.Generator, n: int, start: float, days: float) -> Array:
    """``n`` sorted request times over ``days`` days from ``start``, busier by day than by night."""
    minutes = int(days * 1440)
    hour = (np.arange(minutes) / 60.0) % 24
    weight = 1.0 + 0.7 * np.sin((hour - 9.0) / 24.0 * 2 * np.pi)
    minute = rng.choice(minutes, size=n, p=weight / weight.sum())
    t = start + minute * 60.0 + rng.uniform(0, 60, size=n)
    return np.round(np.sort(t), 6)


def _pick(rng: np.random.Generator, table: tuple[tuple[Any, float], ...], n: int) -> Array:
    p = np.array([w for _, w in table])
    return rng.choice(len(table), size=n, p=p / p.sum())


def _rows(rng: np.random.Generator, ts: Array, id_base: int) -> Log:
    n = ts.size
    day = (ts - START.timestamp()) / DAY_S
    canary = rng.random(n) < 0.10
    later = day >= 4
    version = np.where(later, np.where(canary, 3, 2), np.where(canary & (day >= 2), 2, 1))
    arm = np.where(canary & ((day >= 2) | later), 1, 0)
    channel = _pick(rng, CHANNEL_LOGGED, n)
    plan = _pick(rng, PLAN_LOGGED, n)
    language = _pick(rng, LANGUAGE_LOGGED, n)
    truth = rng.choice(len(LABELS), size=n, p=np.array(PRIORS))
    skill = np.array([0.0, 0.80, 0.85, 0.88])[version] - np.where(language == 1, 0.06, 0.0)
    right = rng.random(n) < skill
    wrong = (truth + rng.integers(1, len(LABELS), size=n)) % len(LABELS)
    label = np.where(right, truth, wrong)
    confidence = np.where(right, rng.beta(8, 2, size=n), rng.beta(3, 4, size=n))
    kind = np.zeros(n, dtype=np.int64)
    kind[confidence < 0.45] = 2  # below threshold: the rules answer
    kind[confidence < 0.35] = 1  # human review
    u = rng.random(n)
    kind[u < 0.006] = 3  # a timeout
    kind[u < 0.002] = 4  # a model error
    kind[rng.random(n) < 0.001] = 5  # the kill switch: rules, no version
    version = np.where(kind == 5, 0, version)
    decision = np.select([kind == 1, kind >= 2], [1, 2], 0)
    label = np.where(kind == 1, -1, np.where(kind >= 3, LABELS.index("other"), label))
    confidence = np.where(kind >= 3, np.nan, np.round(confidence, 4))
    mu = np.array([2.3, 3.2, 3.6, 3.9])[version]
    latency = np.round(rng.lognormal(mu, 0.45), 3)
    latency = np.where(kind == 3, 2000.0 + rng.uniform(0, 5, size=n), latency)
    latency = np.where(kind == 5, rng.uniform(0.05, 0.3, size=n), latency)
    per_request = np.array([0.0, 0.00012, 0.0009, 0.0021])[version]
    text_len = np.clip(rng.lognormal(4.6, 0.6, size=n), 8, 2000).astype(np.int64)
    cost = np.round(per_request * (0.5 + text_len / 200.0), 8)
    cost = np.where((version == 1) & (rng.random(n) < 0.3), np.nan, cost)
    delay = rng.uniform(0.02, 1.5, size=n)
    late = rng.random(n) < 0.005  # replayed from a gateway's spool
    delay[late] = rng.uniform(60, 4 * 3600, size=int(late.sum()))
    ids = [str(ULID.from_int((int(t * 1000) << 80) | (id_base + i))) for i, t in enumerate(ts)]
    return Log(
        ts=ts,
        logged_at=np.round(ts + delay, 6),
        version=version,
        arm=arm,
        label=label,
        truth=truth,
        confidence=confidence,
        decision=decision,
        kind=kind,
        latency_ms=latency,
        cost=cost,
        channel=channel,
        plan=plan,
        language=language,
        text_len=text_len,
        ids=ids,
    )


def generate(
    n: int = 1_000_000, n_feedback: int = 300_000, *, days: float = 7.0, seed: int = 0
) -> tuple[Log, Feedback]:
    """``n`` rows over ``days`` days from :data:`START` and about ``n_feedback`` feedback rows
    (those that arrived before the end of the period), seeded.

    >>> log, fb = generate(2_000, 600, days=1, seed=1)
    >>> log.n, 500 < fb.n <= 600, bool((np.diff(log.ts) >= 0).all())
    (2000, True, True)
    """
    rng = np.random.default_rng(seed)
    start = START.timestamp()
    log = _rows(rng, _times(rng, n, start, days), 0)
    end = start + days * DAY_S
    return log, _feedback(rng, log, n_feedback, end)


def more_rows(log: Log, n: int, minutes: float, *, seed: int = 1) -> Log:
    """``n`` rows in the ``minutes`` after ``log``'s last row (stored after all of them)."""
    rng = np.random.default_rng(seed)
    first = float(np.ceil(log.logged_at.max()))
    ts = np.round(np.sort(first + rng.uniform(0, minutes * 60, size=n)), 6)
    more = _rows(rng, ts, log.n)
    more.logged_at = np.maximum(more.logged_at, first + 0.001)  # after the watermark
    return more


def _feedback(rng: np.random.Generator, log: Log, target: int, end: float) -> Feedback:
    """Labels (some superseded), ratings and corrections, created before ``end``."""
    parts: list[tuple[Array, int, Array, Array, Array]] = []
    shares = {"label": 0.824, "wrong_first": 0.033, "rating": 0.1, "correction": 0.027}
    for kind_name, share in shares.items():
        want = round(target * share)
        # draw more than needed: those arriving after the end are dropped
        rows = rng.choice(log.n, size=min(log.n, int(want * 1.6) + 10), replace=False)
        hours = rng.lognormal(np.log(10.0), 1.1, size=rows.size)  # median 10 h, some days
        created = log.ts[rows] + 60 + hours * 3600
        keep = created < end
        rows, created = rows[keep][:want], created[keep][:want]
        if kind_name == "rating":
            value = rng.integers(1, 6, size=rows.size)
            parts.append((rows, 1, value, created, np.zeros(rows.size, dtype=bool)))
        elif kind_name == "correction":
            parts.append((rows, 2, log.truth[rows], created, np.zeros(rows.size, dtype=bool)))
        else:
            noise = rng.random(rows.size) < 0.02  # an agent's slip: a wrong label now and then
            actual = np.where(noise, (log.truth[rows] + 1) % len(LABELS), log.truth[rows])
            parts.append((rows, 0, actual, created, np.zeros(rows.size, dtype=bool)))
    labelled = parts[0][0]
    # "wrong_first": a label that an agent replaced later by the right one (same source).
    first_rows = parts[1][0]
    first_rows = first_rows[~np.isin(first_rows, labelled)]
    first_at = log.ts[first_rows] + 60 + rng.uniform(600, 4 * 3600, size=first_rows.size)
    fix_at = first_at + rng.uniform(60, 3600, size=first_rows.size)
    ok = fix_at < end
    first_rows, first_at, fix_at = first_rows[ok], first_at[ok], fix_at[ok]
    wrong = (log.truth[first_rows] + 2) % len(LABELS)
    n_first = first_rows.size
    parts[1] = (first_rows, 0, wrong, first_at, np.ones(n_first, dtype=bool))
    parts.append((first_rows, 0, log.truth[first_rows], fix_at, np.zeros(n_first, dtype=bool)))
    row = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([np.full(p[0].size, p[1]) for p in parts])
    value = np.concatenate([p[2] for p in parts]).astype(np.int64)
    created = np.round(np.concatenate([p[3] for p in parts]), 6)
    superseded = np.concatenate([p[4] for p in parts])
    order = np.argsort(created, kind="stable")
    ids = [
        str(ULID.from_int((int(t * 1000) << 80) | (1 << 40) + i))
        for i, t in enumerate(created[order])
    ]
    return Feedback(
        row=row[order],
        kind=kind[order],
        value=value[order],
        created_at=created[order],
        superseded=superseded[order],
        ids=ids,
    )


# --- loading ---------------------------------------------------------------------------------


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _log_dicts(log: Log, lo: int, hi: int) -> Iterator[dict[str, Any]]:
    for i in range(lo, hi):
        lab = int(log.label[i])
        conf = float(log.confidence[i])
        kind = KINDS[int(log.kind[i])]
        version = int(log.version[i])
        cost = float(log.cost[i])
        label = LABELS[lab] if lab >= 0 else None
        yield {
            "prediction_id": log.ids[i],
            "service": SERVICE,
            "version": version or None,
            "arm": ARMS[int(log.arm[i])],
            "ts": _dt(float(log.ts[i])),
            "label": label,
            "confidence": None if conf != conf else conf,
            "decision": DECISIONS[int(log.decision[i])],
            "fallback": "rules" if kind in ("below", "timeout", "error", "kill") else None,
            "reason": _REASONS.get(kind),
            "latency_ms": float(log.latency_ms[i]),
            "cost": None if cost != cost else cost,
            "tokens_in": int(log.text_len[i]) // 4,
            "tokens_out": 3,
            "error": {"timeout": "model_timeout", "error": "model_error"}.get(kind),
            "caller": "web-frontend",
            "channel": CHANNEL_LOGGED[int(log.channel[i])][0],
            "plan": PLAN_LOGGED[int(log.plan[i])][0],
            "language": LANGUAGE_LOGGED[int(log.language[i])][0],
            "segments": None,
            "scores": {label: conf} if label is not None and conf == conf else {},
            "inputs": {
                "text": _text(int(log.text_len[i]), i),
                "channel": CHANNEL_LOGGED[int(log.channel[i])][0],
                "plan": PLAN_LOGGED[int(log.plan[i])][0],
                "language": LANGUAGE_LOGGED[int(log.language[i])][0],
            },
            "redactions": 0,
            "logged_at": _dt(float(log.logged_at[i])),
        }


_REASONS = {
    "below": "below_threshold:0.45;fallback:rules",
    "timeout": "model_timeout;fallback:rules",
    "error": "model_error;fallback:rules",
    "kill": "kill_switch;fallback:rules",
}


def _text(length: int, i: int) -> str:
    words = [_WORDS[(i * 7 + k * 3) % len(_WORDS)] for k in range(length // 5 + 1)]
    return " ".join(words)[:length]


def load(store: Store, log: Log, fb: Feedback | None = None, *, chunk: int = 20_000) -> None:
    """Insert ``log``'s rows (and ``fb``'s) into ``store``'s tables in bulk, then ``ANALYZE``."""
    postgres = store.backend != "sqlite"
    for lo in range(0, log.n, chunk):
        rows = list(_log_dicts(log, lo, min(log.n, lo + chunk)))
        if postgres:
            _copy(store, rows)
        else:
            store.predictions.insert_batch(rows)
    if fb is not None:
        _load_feedback(store, log, fb, chunk)
    # Statistics for the planner, as a database that has been running would have them. Only
    # these two tables: a bare ANALYZE locks every table in the database, other schemas
    # included, and two loads at once (test workers) then deadlock on each other's.
    with store.write() as conn:
        conn.exec_driver_sql("ANALYZE predictions")
        conn.exec_driver_sql("ANALYZE feedback")


def _copy(store: Store, rows: list[dict[str, Any]]) -> None:
    # as the store's insert does: a column the rows leave out that has a server default
    # (``source``) is left to the database
    first = rows[0] if rows else {}
    names = [
        c.name for c in predictions_table.columns if c.name in first or c.server_default is None
    ]
    json_cols = {"segments", "scores", "inputs"}
    with store.write() as conn:
        raw: Any = conn.connection.driver_connection
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY predictions ({', '.join(names)}) FROM STDIN") as cp,
        ):
            for r in rows:
                cp.write_row(
                    [
                        (orjson.dumps(r[c]).decode() if r[c] is not None else None)
                        if c in json_cols
                        else r[c]
                        for c in names
                    ]
                )


def _load_feedback(store: Store, log: Log, fb: Feedback, chunk: int) -> None:
    # the id of the label that superseded each superseded one: the next label of that row
    next_label: dict[int, str] = {}
    superseded_by: list[str | None] = [None] * fb.n
    for j in range(fb.n - 1, -1, -1):
        if fb.kind[j] == 0:
            r = int(fb.row[j])
            if fb.superseded[j]:
                superseded_by[j] = next_label[r]
            next_label[r] = fb.ids[j]
    kinds = ("label", "rating", "correction")
    sources = ("agent", "user", "agent")
    for lo in range(0, fb.n, chunk):
        values = []
        for j in range(lo, min(fb.n, lo + chunk)):
            k = int(fb.kind[j])
            v = int(fb.value[j])
            values.append(
                {
                    "id": fb.ids[j],
                    "prediction_id": log.ids[int(fb.row[j])],
                    "source": sources[k],
                    "kind": kinds[k],
                    "value": repr(float(v)) if k == 1 else LABELS[v],
                    "rating": float(v) if k == 1 else None,
                    "comment": None,
                    "created_at": _dt(float(fb.created_at[j])),
                    "stored_at": _dt(float(fb.created_at[j])),  # stored as it arrived
                    "superseded_by": superseded_by[j],
                    "new_label": False,
                }
            )
        with store.write() as conn:
            conn.execute(insert(feedback_table), values)
