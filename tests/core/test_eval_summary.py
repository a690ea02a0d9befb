"""The typed evaluation summary: it round-trips through its stored JSON, and a run stored by
the code before the summary was typed still loads (``data/eval_summary_before_typing.json``
is such a summary, written by that code for ``router@2`` of tests/cli/test_eval_cli.py with an
extra slice and a scenario, its latency list cut to five calls)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from liveops.core.evaluation.gates import GateVerdict
from liveops.core.evaluation.summary import ERROR_COLUMN, EvalSummary
from liveops.core.exits import exit_code
from liveops.errors import IntegrityError

BEFORE = Path(__file__).parent / "data" / "eval_summary_before_typing.json"


def _old() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(BEFORE.read_text(encoding="utf-8"))
    return data


def test_a_summary_stored_before_typing_loads_with_every_part_typed() -> None:
    s = EvalSummary.from_dict(_old())
    assert (s.service, s.version, s.baseline) == ("router", "router@2", "router@1")
    assert s.cases == 25
    assert s.errors == 6
    assert s.exit_code == 1
    assert all(isinstance(g, GateVerdict) for g in s.gates)
    assert len(s.gates) == 4
    by_gate = {g.gate: g for g in s.gates}
    acc = by_gate["accuracy >= 0.7"]
    assert acc.verdict == "pass"
    assert acc.kind == "blocker"
    assert acc.threshold == 0.7
    assert acc.interval is not None
    assert acc.interval[0] <= acc.value <= acc.interval[1]
    assert by_gate["must_pass >= 1"].verdict == "fail"
    # the stored exit code is what the one rule makes of the stored verdicts
    assert exit_code(g.verdict for g in s.gates if g.counts) == s.exit_code
    assert set(s.scopes("slice")) == {"english", "spanish"}
    assert set(s.scopes("scenario")) == {"crashes"}
    assert s.overall["accuracy"].value == pytest.approx(19 / 25)
    assert s.overall["accuracy"].diff_interval is not None  # compared with router@1
    assert s.per_class["billing"].support == 12
    # the old confusion matrix had an unnamed last column: it is the model errors
    assert s.confusion.columns == ("billing", "technical", ERROR_COLUMN)
    assert [row[-1] for row in s.confusion.matrix] == [3, 3]
    assert s.failures.by_pair[0].predicted == ERROR_COLUMN
    assert s.robustness is not None
    assert set(s.robustness.families) == {"casing", "whitespace"}
    assert s.robustness.families["casing"].predicted == 22
    assert s.must_pass is not None
    assert s.must_pass.held == 1
    assert len(s.must_pass.failed) == 1
    assert s.probes is not None
    assert s.probes[0].name == "refunds are billing"
    assert s.consistency is not None
    assert s.consistency.repeats == 2
    assert s.latency_ms is not None
    assert len(s.latency_ms) == 5


def test_the_summary_round_trips_through_its_json() -> None:
    s = EvalSummary.from_dict(_old())
    stored = json.loads(json.dumps(s.to_dict()))  # what the database keeps
    assert EvalSummary.from_dict(stored) == s
    assert EvalSummary.from_dict(stored).to_dict() == stored
    # nothing today's code wrote is lost: the new JSON is the old plus the named columns
    old = _old()
    assert stored["confusion"].pop("columns") == ["billing", "technical", ERROR_COLUMN]
    assert stored == old


def test_keys_a_newer_liveops_writes_are_kept_and_written_back() -> None:
    # e.g. a new robustness family with more fields, a new top-level section
    d = _old()
    d["robustness"]["families"]["numeric_noise"] = {
        "invariance": 0.9,
        "accuracy": 0.8,
        "predicted": 25,
        "columns": ["alcohol"],
    }
    d["drift"] = {"alcohol": 0.02}
    s = EvalSummary.from_dict(d)
    assert s.robustness is not None
    assert s.robustness.families["numeric_noise"].extra == {"columns": ["alcohol"]}
    out = s.to_dict()
    assert out["drift"] == {"alcohol": 0.02}
    assert out["robustness"]["families"]["numeric_noise"]["columns"] == ["alcohol"]


def test_a_malformed_stored_summary_is_an_integrity_error_naming_the_run() -> None:
    d = _old()
    d["gates"][0]["verdict"] = "maybe"
    with pytest.raises(IntegrityError, match=r"router@2.*unknown gate verdict 'maybe'"):
        EvalSummary.from_dict(d)
