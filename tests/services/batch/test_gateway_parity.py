"""Batch answers are the gateway's: the same rows sent to a real ``liveops serve`` get the same
label, confidence and decision (the text service with its rules fallback and sensitive-input
hold, and the tabular service)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import start_server
from tests.services.batch.conftest import Batch, read_output
from tests.services.batch.project import cancer_rows, router_rows, write_parquet

pytestmark = pytest.mark.slow


def _gateway_answers(url: str, service: str, rows: list[dict[str, Any]]) -> list[Any]:
    import httpx

    answers: list[Any] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(0, len(rows), 200):
            instances = [{k: v for k, v in r.items() if k != "id"} for r in rows[i : i + 200]]
            r = client.post(f"/v1/services/{service}/predict", json={"instances": instances})
            assert r.status_code == 200, r.text
            answers += [
                (a["label"], a["confidence"], a["decision"]) for a in r.json()["predictions"]
            ]
    return answers


def test_batch_equals_gateway(batch: Batch, project: Path) -> None:
    rows = {"router": router_rows(600), "cancer": cancer_rows(600)}
    outputs = {}
    for service, service_rows in rows.items():
        src = write_parquet(project / f"{service}.parquet", service_rows)
        out = project / f"{service}-out.parquet"
        r = batch(service, "-i", str(src), "-o", str(out), "--chunk-rows", "128", "--no-log")
        assert r.code == 0, r.err
        t = read_output(out)
        outputs[service] = list(
            zip(
                *(t.column(c).to_pylist() for c in ("label", "confidence", "decision")), strict=True
            )
        )
    server = start_server(project)
    try:
        for service, service_rows in rows.items():
            live = _gateway_answers(server.url, service, service_rows)
            assert len(live) == len(outputs[service])
            for got, want in zip(outputs[service], live, strict=True):
                assert got[0] == want[0]
                assert got[2] == want[2]
                assert got[1] == pytest.approx(want[1], abs=1e-12)
            decisions = {d for _, _, d in live}
            if service == "router":  # the rows exercise the decision layer's paths
                assert {"automatic", "human_review", "fallback"} <= decisions
    finally:
        server.stop()
