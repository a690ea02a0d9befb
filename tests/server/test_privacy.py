"""Privacy at rest: after a gateway run with personal data in requests, no stored byte under
``.liveops/`` holds it unless the service keeps raw inputs, and then only in the raw-input table.

A tabular-plus-text service (numbers, a category, free text and a contact field), not the
demo's; every file under ``.liveops/`` is read as bytes after the gateway stopped (the SQLite
database, its ``-wal`` and ``-shm``, spool segments, markers, the writer's status).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from liveops.core.project import parse_project
from liveops.services.registry import apply_project, register_version, set_alias
from liveops.store import open_store
from tests.server.conftest import start_server

pytestmark = pytest.mark.slow

PROJECT_YAML = """
services:
  - name: loan-triage
    owner: credit@example.com
    inputs:
      income: {{type: number, min: 0}}
      region: {{type: enum, values: [north, south, x]}}
      note: {{type: string, required: true, max_length: 500}}
      contact: {{type: string}}
    model_inputs: [income, region]
    output: {{labels: [approve, review]}}
    logging:
      raw_inputs: {raw}
      redact: [{{member: "MBR-\\\\d{{6}}"}}]
"""

# One of each kind the detectors (and the service's own pattern) find.
PERSONAL = {
    "email": "ana.souza@example.org",
    "phone": "+34 612 345 678",
    "card": "4111 1111 1111 1111",
    "iban": "DE89 3704 0044 0532 0130 00",
    "member": "MBR-482913",
    "caller": "ops.lead@example.net",
}


def _project(folder: Path, raw: bool) -> Path:
    folder.mkdir(parents=True)
    text = PROJECT_YAML.format(raw="true" if raw else "false")
    (folder / "liveops.yaml").write_text(text)
    store = open_store(project_dir=folder)  # SQLite on file under .liveops/
    try:
        apply_project(store, parse_project(text), actor="tester")
        register_version(
            store, "loan-triage", actor="tester", entrypoint="tests.server.models:income"
        )
        set_alias(store, "loan-triage", "production", "1", actor="tester")
    finally:
        store.close()
    return folder


def _stored_bytes(project: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in (project / ".liveops").rglob("*") if p.is_file()}


def _run_gateway(project: Path) -> list[str]:
    """Send requests holding every personal string, stop the gateway; the answered ids."""
    server = start_server(project)
    ids = []
    try:
        with server.client(headers={"x-liveops-caller": PERSONAL["caller"]}) as c:
            for i in range(12):
                body = {
                    "inputs": {
                        "income": 30_000 + 2_000 * i,
                        "region": ["north", "south"][i % 2],
                        "note": (
                            f"case {i}: card {PERSONAL['card']}, IBAN {PERSONAL['iban']}, "
                            f"member {PERSONAL['member']}"
                        ),
                        "contact": f"{PERSONAL['email']} or {PERSONAL['phone']}",
                    }
                }
                r = c.post("/v1/services/loan-triage/predict", json=body)
                assert r.status_code == 200, r.text
                ids.append(r.json()["prediction_id"])
    finally:
        server.stop()
    assert server.proc.returncode is not None
    return ids


def test_no_personal_byte_is_stored_when_raw_inputs_are_off(tmp_path: Path) -> None:
    project = _project(tmp_path / "proj", raw=False)
    ids = _run_gateway(project)
    store = open_store(project_dir=project)
    try:  # the log really stored every answer, redacted
        rows = [store.predictions.get(pid) for pid in ids]
    finally:
        store.close()
    assert all(row is not None for row in rows)
    first = rows[0]
    assert first is not None
    assert first["raw_inputs"] is None
    assert first["inputs"]["contact"] == "[EMAIL] or [PHONE]"
    assert first["inputs"]["note"] == "case 0: card [CARD], IBAN [IBAN], member [MEMBER]"
    files = _stored_bytes(project)
    assert any(p.name.endswith(".db") for p in files)
    leaks = [
        (str(p.relative_to(project)), kind)
        for p, data in files.items()
        for kind, value in PERSONAL.items()
        if value.encode() in data
    ]
    assert leaks == []


def test_with_raw_inputs_on_they_are_in_the_raw_table_and_not_in_the_spool(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path / "proj", raw=True)
    ids = _run_gateway(project)
    store = open_store(project_dir=project)
    try:
        rows = [store.predictions.get(pid) for pid in ids]
    finally:
        store.close()
    raw = [row["raw_inputs"] for row in rows if row is not None]
    assert len(raw) == len(ids)
    assert raw[0]["contact"] == f"{PERSONAL['email']} or {PERSONAL['phone']}"
    assert PERSONAL["card"] in raw[0]["note"]
    assert PERSONAL["iban"] in raw[0]["note"]
    files = _stored_bytes(project)
    found = {
        kind
        for p, data in files.items()
        for kind, value in PERSONAL.items()
        if value.encode() in data
    }
    assert found == set(PERSONAL) - {"caller"}  # the search itself works; the caller is redacted
    spooled = [p for p in files if p.suffix == ".seg"]
    assert spooled == []  # every stored segment, raw ones included, is gone after the stop
