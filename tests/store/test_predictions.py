"""Contract of the predictions aggregate on every backend: bulk insert ignoring duplicates,
reads, raw-input expiry and feedback rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from liveops.core.serving.prediction import new_prediction_id
from liveops.store import Store

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def row(pid: str, service: str = "router", **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "prediction_id": pid,
        "service": service,
        "version": 1,
        "arm": "production",
        "ts": T0,
        "label": "billing",
        "confidence": 0.9,
        "decision": "automatic",
        "fallback": None,
        "reason": None,
        "latency_ms": 3.5,
        "cost": None,
        "tokens_in": None,
        "tokens_out": None,
        "error": None,
        "caller": "web",
        "channel": "email",
        "plan": "pro",
        "language": "en",
        "segments": None,
        "scores": {"billing": 0.9, "technical": 0.1},
        "inputs": {"text": "refund [EMAIL]"},
        "redactions": 1,
        "logged_at": T0,
    }
    return base | over


def test_bulk_insert_skips_ids_already_stored(store: Store) -> None:
    ids = [new_prediction_id(T0.timestamp()) for _ in range(5)]
    store.predictions.insert_batch([row(i) for i in ids[:3]])
    # A replayed batch repeats three ids and adds two: only the two are new, nothing fails.
    store.predictions.insert_batch([row(i, label="other") for i in ids])
    assert store.predictions.ids() == sorted(ids)  # ids() lists in id (time) order
    assert store.predictions.count() == 5
    got = store.predictions.get(ids[0])
    assert got is not None
    assert got["label"] == "billing"  # the first write wins
    assert got["scores"] == {"billing": 0.9, "technical": 0.1}
    assert got["ts"] == T0.isoformat()
    assert got["feedback"] == []
    assert got["raw_inputs"] is None


def test_reads_filter_by_service_newest_first(store: Store) -> None:
    ids = [new_prediction_id(T0.timestamp() + i) for i in range(4)]
    store.predictions.insert_batch(
        [row(i, service="a" if n % 2 else "b") for n, i in enumerate(ids)]
    )
    assert [r["prediction_id"] for r in store.predictions.recent(limit=2)] == ids[::-1][:2]
    assert [r["prediction_id"] for r in store.predictions.recent("a")] == [ids[3], ids[1]]
    assert store.predictions.count("b") == 2
    assert store.predictions.existing_ids([ids[0], "0" * 26]) == {ids[0]}
    assert store.predictions.get("0" * 26) is None


def test_raw_inputs_expire(store: Store) -> None:
    ids = [new_prediction_id(T0.timestamp()) for _ in range(3)]
    raw = [
        {
            "prediction_id": i,
            "service": "router",
            "inputs": {"text": "ana@example.com"},
            "expires_at": T0 + timedelta(days=d),
        }
        for i, d in zip(ids, (1, 7, 30), strict=True)
    ]
    store.predictions.insert_batch([row(i) for i in ids], raw)
    got = store.predictions.get(ids[0])
    assert got is not None
    assert got["raw_inputs"] == {"text": "ana@example.com"}
    assert store.predictions.expired_raw(T0 + timedelta(days=8)) == 2
    assert store.predictions.purge_raw(T0 + timedelta(days=8)) == 2
    assert store.predictions.raw_count() == 1
    assert store.predictions.get(ids[0])["raw_inputs"] is None  # type: ignore[index]
    assert store.predictions.get(ids[0]) is not None  # the redacted record stays


def test_feedback_rows_and_supersession(store: Store) -> None:
    pid = new_prediction_id(T0.timestamp())
    fb = store.predictions
    first, second = new_prediction_id(T0.timestamp()), new_prediction_id(T0.timestamp() + 1)
    base = {
        "prediction_id": pid,
        "source": "agent",
        "kind": "label",
        "rating": None,
        "comment": None,
        "created_at": T0,
        "superseded_by": None,
    }
    with fb.feedback_tx(pid) as conn:
        fb.insert_feedback(conn, base | {"id": first, "value": "billing"})
    with fb.feedback_tx(pid) as conn:
        current = fb.current_feedback(conn, pid, "agent", "label")
        assert current is not None
        assert current["value"] == "billing"
        fb.insert_feedback(conn, base | {"id": second, "value": "technical"})
        fb.supersede_feedback(conn, first, second)
    history = fb.feedback_for(pid)
    assert [(h["value"], h["superseded_by"]) for h in history] == [
        ("billing", second),
        ("technical", None),
    ]
