"""Answers logged column-wise (``liveops batch``) are stored exactly as the same answers logged
as records (the gateway's path), on every backend, and a chunk stored again (a resumed run)
adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from liveops.core.clock import FixedClock
from liveops.core.project import LoggingSpec
from liveops.core.serving.prediction import PredictionRecord, batch_prediction_ids
from liveops.services.predictions import DirectLog, InputRedactor
from liveops.services.predictions.columns import ABSENT, RecordColumns
from liveops.store import Store
from liveops.store.prediction_tables import prediction_raw_inputs, predictions
from tests.core.sensitive_cases import CASES
from tests.services.predictions.redaction_cases import PATTERNS, TICKETS

T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
SERVICES = {"router": LoggingSpec(redact=[{"customer": r"CU-\d+"}], raw_inputs=True)}
TEXTS = [
    "where is my refund",
    "mail ana@example.com please",
    "card 4111 1111 1111 1111 was charged twice",
    "customer CU-12345, order 88213",
    "",
    "número ٣٤٥ and a phone +34 612 345 678",
]


def _answers(n: int) -> dict[str, list[Any]]:
    """Answers of ``n`` rows covering what logging treats specially."""
    texts = [TEXTS[i % len(TEXTS)] for i in range(n)]
    language = [("es" if i % 3 else "ana@example.com") for i in range(n)]  # redacted segment
    return {
        "text": texts,
        "channel": [None if i % 4 == 0 else "email" for i in range(n)],
        "language": language,
        "region": [f"r{i % 2}" for i in range(n)],  # a segment with no column of its own
        "count": [10**13 + 4 if i == 1 else i for i in range(n)],  # a 14-digit number: checked
        "label": [("billing" if i % 2 else "x" * 250) for i in range(n)],  # cut to 200
        "decision": ["automatic" if i % 2 else "fallback" for i in range(n)],
        "reason": [None if i % 2 else "below_threshold:0.4" for i in range(n)],
        "fallback": [None if i % 2 else "rules" for i in range(n)],
        "scores": [[0.25 + i / (4 * n), 0.75 - i / (4 * n)] for i in range(n)],
        "cost": [0.001 * i for i in range(n)],
    }


def _records(ids: list[str], a: dict[str, list[Any]], absent_count: bool) -> list[PredictionRecord]:
    out = []
    for i, pid in enumerate(ids):
        inputs = {"text": a["text"][i], "channel": a["channel"][i], "count": a["count"][i]}
        if absent_count and i % 2:
            del inputs["count"]
        out.append(
            PredictionRecord(
                prediction_id=pid,
                service="router",
                version=3,
                arm="batch",
                ts=T0.timestamp(),
                inputs=inputs,
                label=a["label"][i],
                scores=dict(zip(("billing", "technical"), a["scores"][i], strict=True)),
                confidence=max(a["scores"][i]),
                decision=a["decision"][i],
                fallback=a["fallback"][i],
                reason=a["reason"][i],
                latency_ms=0.25,
                cost=a["cost"][i],
                segments={
                    "channel": a["channel"][i],
                    "language": a["language"][i],
                    "region": a["region"][i],
                },
                source="batch",
            )
        )
    return out


def _columns(ids: list[str], a: dict[str, list[Any]], absent_count: bool) -> RecordColumns:
    count = [ABSENT if absent_count and i % 2 else v for i, v in enumerate(a["count"])]
    return RecordColumns(
        service="router",
        version=3,
        arm="batch",
        source="batch",
        ts=T0.timestamp(),
        latency_ms=0.25,
        prediction_ids=ids,
        inputs={"text": a["text"], "channel": a["channel"], "count": count},
        labels=a["label"],
        decisions=a["decision"],
        reasons=a["reason"],
        fallbacks=a["fallback"],
        confidence=[max(s) for s in a["scores"]],
        classes=("billing", "technical"),
        scores=a["scores"],
        cost=a["cost"],
        segments={"channel": a["channel"], "language": a["language"], "region": a["region"]},
    )


def _stored(store: Store, table: Any, ids: list[str]) -> list[dict[str, Any]]:
    key = table.c.prediction_id
    with store.engine.connect() as conn:
        rows = conn.execute(select(table).where(key.in_(ids)).order_by(key)).mappings().all()
    return [{k: v for k, v in r.items() if k != "prediction_id"} for r in rows]


def test_columns_are_stored_as_records_are(store: Store) -> None:
    n = 60
    a = _answers(n)
    log = DirectLog(store, SERVICES, FixedClock(T0))
    for absent_count, run in (
        (False, "01KB0000000000000000000000"),
        (True, "01KC0000000000000000000000"),
    ):
        by_record = batch_prediction_ids(run, 0, n)
        by_column = batch_prediction_ids(run, n, n)
        assert log.store(_records(by_record, a, absent_count)) == n
        assert log.store_columns(_columns(by_column, a, absent_count)) == n
        for table in (predictions, prediction_raw_inputs):
            want = _stored(store, table, by_record)
            assert len(want) == n
            assert _stored(store, table, by_column) == want
    got = store.predictions.get(by_column[2])
    assert got is not None
    assert got["inputs"]["text"] == "card [CARD] was charged twice"
    assert got["raw_inputs"]["text"] == TEXTS[2]  # kept raw for a while: raw_inputs is on
    assert store.predictions.get(by_column[0])["language"] == "[EMAIL]"  # type: ignore[index]


def test_a_chunk_stored_again_adds_nothing(store: Store) -> None:
    """A chunk scored again after a crash: half of its ids are stored already (PostgreSQL
    takes its slower path then); the first write of each id wins, none is stored twice."""
    n = 40
    a = _answers(n)
    ids = batch_prediction_ids("01KD0000000000000000000000", 0, n)
    log = DirectLog(store, SERVICES, FixedClock(T0))
    first = _columns(ids[: n // 2], {k: v[: n // 2] for k, v in a.items()}, False)
    assert log.store_columns(first) == n // 2
    again = _columns(ids, {**a, "label": ["later"] * n}, False)
    assert log.store_columns(again) == n
    assert log.store_columns(again) == n
    assert store.predictions.ids("router") == ids
    labels = [store.predictions.get(i)["label"] for i in ids]  # type: ignore[index]
    assert labels[: n // 2] == [x[:200] for x in a["label"][: n // 2]]
    assert labels[n // 2 :] == ["later"] * (n // 2)
    assert store.predictions.raw_count() == n


def test_column_redaction_equals_value_redaction() -> None:
    """On the labelled set (plain, with a service's patterns, and mixed with values that are
    not text), redacting a column masks and counts exactly what redacting each value does."""
    texts = [c.text for c in CASES + TICKETS]
    for redactor in (InputRedactor(), InputRedactor({"router": PATTERNS})):
        for values in (texts, [*texts, None, 10**15 + 7, 4111111111111111, 3.5]):
            column, counts = redactor.redact_column("router", values)
            one_by_one = [redactor.redact("router", {"v": v}) for v in values]
            assert list(column) == [d["v"] for d, _ in one_by_one]
            assert counts == {i: c for i, (_, c) in enumerate(one_by_one) if c}
    assert any(counts.values())
