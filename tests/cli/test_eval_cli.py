"""`liveops eval` and `liveops runs` as a user runs them: exit codes, output, stored runs, and
bad input (each exit 4 with a message that names the problem).

One small project is built once for the module: a service with a suite, a 25-case dataset and
four versions served by tiny keyword models (entry points, so nothing is trained):

- ``router@1`` (production) answers every case right;
- ``router@2`` answers ``technical`` to everything: the accuracy blocker fails;
- ``router@3`` is ``router@1`` but wrong on one Spanish case: the Spanish guardrail is
  inconclusive (too few cases to tell);
- ``router@4`` raises on messages containing ``BOOM``;
- ``router@5`` is an older model that knows only ``billing`` (a baseline lacking a label).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from liveops.services.datasets import add_dataset
from liveops.services.registry import apply_project, load_project, register_version, set_alias
from liveops.store import open_store
from tests.cli_runner import Result, Runner

MODULE = "evalcli_models"

PROJECT = """
services:
  - name: router
    owner: team@example.com
    inputs:
      text: {type: string, required: true}
      language: {type: string}
    model_inputs: [text]
    output: {labels: [billing, technical]}
    decision: {threshold: 0.6, below_threshold: human_review}
    suite: suite.yaml
"""

SUITE = """
cases:
  dataset: router-eval
  expected: label
  must_pass: {dataset: router-must}
metrics: [accuracy, macro_f1]
slices:
  - {name: spanish, where: {language: es}}
robustness: {perturbations: [casing, whitespace], seed: 1}
consistency: {cases: 10, repeats: 2}
probes:
  - {name: refunds are billing, inputs: {text: "refund my invoice"}, expect: {label: billing}}
gates:
  - {metric: accuracy, min: 0.7, kind: blocker}
  - {metric: must_pass, min: 1.0, kind: blocker}
  - {metric: accuracy, slice: spanish, not_worse_than: baseline, margin: 0.01, kind: guardrail}
  - {metric: accuracy, better_than: baseline, kind: goal}
latency_calls: 5
"""

MODELS = """
BILLING = ("charge", "refund", "invoice", "cobr", "factura", "card")


class Keyword:
    classes = ("billing", "technical")

    def __init__(self, *, always=None, miss=None, boom=False):
        self.always, self.miss, self.boom = always, miss, boom

    def predict_batch(self, records):
        out = []
        for r in records:
            text = str(r.get("text") or "")
            if self.boom and "BOOM" in text:
                raise ValueError("cannot parse this message")
            label = "billing" if any(w in text.lower() for w in BILLING) else "technical"
            if self.always:
                label = self.always
            if self.miss and self.miss in text:
                label = "billing" if label == "technical" else "technical"
            other = "technical" if label == "billing" else "billing"
            out.append({"label": label, "scores": {label: 0.9, other: 0.1}})
        return out


def good():
    return Keyword()


def technical_only():
    return Keyword(always="technical")


def one_spanish_miss():
    return Keyword(miss="sesión")


def flaky():
    return Keyword(boom=True)


class BillingOnly:
    classes = ("billing",)

    def predict_batch(self, records):
        return [{"label": "billing", "scores": {"billing": 1.0}} for _ in records]


def billing_only():
    return BillingOnly()
"""

ROWS = [
    ("charged twice on my card", "billing", "en"),
    ("refund my invoice please", "billing", "en"),
    ("app crashes on login", "technical", "en"),
    ("error 500 when saving", "technical", "en"),
    ("me cobraron dos veces", "billing", "es"),
    ("la app falla al entrar", "technical", "es"),
    ("BOOM the page is blank", "technical", "en"),
    ("invoice BOOM shows an error", "billing", "en"),
]
UNIQUE = ("no puedo iniciar sesión", "technical", "es")  # the one case router@3 gets wrong
CASES = len(ROWS) * 3 + 1
BOOMS = 6
SPANISH = "accuracy[spanish] not worse than baseline by 0.01"


def _csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text("text,label,language\n" + "".join(f"{t},{y},{lang}\n" for t, y, lang in rows))
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("eval-cli")
    (root / "liveops.yaml").write_text(PROJECT)
    (root / "suite.yaml").write_text(SUITE)
    (root / f"{MODULE}.py").write_text(MODELS)
    files = {
        "router-eval": _csv(root / "eval.csv", [*ROWS * 3, UNIQUE]),
        "router-must": _csv(root / "must.csv", [ROWS[0]]),
        "router-unknown": _csv(
            root / "unknown.csv", [ROWS[0], ("where is my parcel", "shipping", "en")]
        ),
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("LIVEOPS_DATABASE_URL", raising=False)  # the project's own SQLite file
        store = open_store(project_dir=root)
    try:
        apply_project(store, load_project(root), actor="setup")
        for name, path in files.items():
            add_dataset(store, path, name=name, actor="setup")
        for factory in ("good", "technical_only", "one_spanish_miss", "flaky", "billing_only"):
            register_version(
                store, "router", actor="setup", entrypoint=f"{MODULE}:{factory}", cwd=root
            )
        set_alias(store, "router", "production", "1", actor="setup", reason="test")
    finally:
        store.close()
    return root


@contextmanager
def suite_edit(project: Path, old: str, new: str) -> Iterator[None]:
    """The suite with ``old`` replaced by ``new``, for one block; restored afterwards."""
    path = project / "suite.yaml"
    assert old in SUITE
    path.write_text(SUITE.replace(old, new))
    try:
        yield
    finally:
        path.write_text(SUITE)


def _verdicts(doc: dict[str, Any]) -> dict[str, str]:
    return {g["gate"]: g["verdict"] for g in doc["gates"]}


def _run_ids(run_cli: Runner, project: Path) -> set[str]:
    r = run_cli("runs", "list", "--limit", "1000", "--json", cwd=project)
    assert r.code == 0, r.err
    return {x["id"] for x in r.json()}


@pytest.mark.smoke
def test_all_gates_pass_exit_0_and_json_is_only_json_with_gates_first(
    run_cli: Runner, project: Path
) -> None:
    r = run_cli("eval", "router@1", "--baseline", "2", "--json", cwd=project)
    assert r.code == 0, r.err
    doc = r.json()  # the whole of stdout parses: nothing else is printed there
    assert next(iter(doc)) == "gates"
    assert set(_verdicts(doc).values()) == {"pass"}
    assert doc["exit_code"] == 0
    assert doc["ref"] == "router@1"
    assert doc["summary"]["baseline"] == "router@2"
    assert doc["summary"]["cases"] == CASES
    assert doc["id"] in _run_ids(run_cli, project)


def test_production_without_baseline_skips_baseline_gates_with_the_reason(
    run_cli: Runner, project: Path
) -> None:
    r = run_cli("eval", "router@1", cwd=project)
    assert r.code == 0, r.err
    assert "exit code 0" in r.out
    assert "skipped: router@1 is production itself; pass --baseline to compare" in r.out
    assert r.out.index("gates: router@1") < r.out.index("metrics (overall)")


def test_a_failing_blocker_exits_1(run_cli: Runner, project: Path) -> None:
    r = run_cli("eval", "router@2", "--json", cwd=project)
    assert r.code == 1, r.err
    verdicts = _verdicts(r.json())
    assert verdicts["accuracy >= 0.7"] == "fail"
    assert verdicts[SPANISH] == "fail"
    human = run_cli("runs", "show", r.json()["id"], cwd=project)
    assert human.code == 0
    assert "a blocker or guardrail failed" in human.out
    assert re.search(r"fail\s+│ blocker\s+│ accuracy >= 0.7", human.out)


def test_only_inconclusive_exits_3(run_cli: Runner, project: Path) -> None:
    r = run_cli("eval", "router@3", "--json", cwd=project)
    assert r.code == 3, r.err
    verdicts = _verdicts(r.json())
    assert verdicts[SPANISH] == "inconclusive"
    assert verdicts["accuracy >= 0.7"] == "pass"
    assert verdicts["must_pass >= 1"] == "pass"
    assert r.json()["summary"]["baseline"] == "router@1"  # the production alias by default


def test_html_report_is_one_self_contained_file(
    run_cli: Runner, project: Path, tmp_path: Path
) -> None:
    report = tmp_path / "report.html"
    r = run_cli("eval", "router@2", "--html", str(report), cwd=project)
    assert r.code == 1, r.err
    assert f"report written to {report}" in r.err
    html = report.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "router@2" in html
    assert "accuracy[spanish]" in html
    assert "<svg" in html  # the charts are inline
    # nothing is fetched: no external scripts, styles, images or fonts
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", html, re.I)


def test_runs_list_and_show_the_stored_run(run_cli: Runner, project: Path) -> None:
    made = run_cli("eval", "router@3", "--json", cwd=project).json()
    listed = run_cli("runs", "list", "router@3", "--json", cwd=project)
    assert listed.code == 0
    row = next(x for x in listed.json() if x["id"] == made["id"])
    assert row["version"] == "router@3"
    assert row["baseline"] == "router@1"
    assert row["exit_code"] == 3
    assert re.search(r"\d inconclusive", row["gates"])
    table = run_cli("runs", "list", cwd=project)
    assert made["id"] in table.out
    assert "router@3" in table.out


def test_runs_list_fits_80_columns_and_cuts_nothing(
    run_cli: Runner, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = run_cli("eval", "router@3", "--baseline", "1", "--json", cwd=project).json()
    monkeypatch.setenv("COLUMNS", "80")
    out = run_cli("runs", "list", cwd=project).out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "…" not in out
    row = out[out.index(made["id"]) :]
    assert "router@3" in row
    assert "@1" in row
    assert made["created_at"][:10] in row
    for verdict in {g["verdict"] for g in made["gates"]}:
        assert verdict in row

    shown = run_cli("runs", "show", made["id"], "--json", cwd=project)
    assert shown.code == 0  # showing a run is not judging it again
    assert shown.json()["summary"] == made["summary"]
    human = run_cli("runs", "show", made["id"][:6], cwd=project)
    assert f"(run {made['id']})" in human.out
    assert "inconclusive" in human.out

    missing = run_cli("runs", "show", "nope", cwd=project)
    assert missing.code == 4
    assert "no evaluation run 'nope'" in missing.err


def test_gates_table_is_readable_at_80_columns(
    run_cli: Runner, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = run_cli("eval", "router@3", "--json", cwd=project).json()
    monkeypatch.setenv("COLUMNS", "80")
    out = run_cli("runs", "show", run["id"], cwd=project).out
    assert max(len(line) for line in out.splitlines()) <= 80
    gates = out[: out.index("exit code")]
    assert "…" not in gates  # nothing in the gates table is cut
    cells = [
        [c.strip() for c in line.strip().strip("│").split("│")]
        for line in gates.splitlines()
        if line.startswith("│")
    ]
    judged = [row for row in cells if row[0]]  # the others continue the gate text
    assert len(judged) == len(run["gates"])
    for (verdict, kind, gate, value, ci), g in zip(judged, run["gates"], strict=True):
        assert (verdict, kind) == (g["verdict"], g["kind"])
        assert g["gate"].startswith(gate)  # the gate text may wrap onto the next line
        assert value == f"{g['value']:.3f}"
        assert ci == f"[{g['interval'][0]:.3f}, {g['interval'][1]:.3f}]"


def test_failures_by_slice_and_scenario_fit_80_columns(
    run_cli: Runner, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = (
        "expected: label\n  scenarios: [{name: invoices, where: {text: {contains: invoice}}}]"
    )
    monkeypatch.setenv("COLUMNS", "80")
    with suite_edit(project, "expected: label", scenario):
        out = run_cli("eval", "router@2", "--baseline", "1", cwd=project).out
    assert max(len(line) for line in out.splitlines()) <= 80
    by_slice = out[out.index("failures by slice") : out.index("failures by scenario")]
    # router@2 answers technical to everything: the Spanish billing cases fail, with an example
    assert re.search(r"│ spanish\s+│\s+3/7 │\s+0.43 │ me cobraron dos veces", by_slice)
    by_scenario = out[out.index("failures by scenario") :]
    assert re.search(r"│ invoices\s+│\s+6/6 │\s+1.00 │ refund my invoice please", by_scenario)
    assert "billing -> technical" in by_scenario


def test_a_model_raising_on_some_cases_counts_errors_and_goes_on(
    run_cli: Runner, project: Path
) -> None:
    r = run_cli("eval", "router@4", cwd=project)
    # the errors are wrong answers; the gates still pass, so the exit code is 0
    assert r.code == 0, r.err
    assert f"model errors: {BOOMS} case(s) raised" in r.out
    assert "ValueError: cannot parse this message" in r.out
    assert f"{CASES} cases from router-eval@1, {BOOMS} model error(s)" in r.out
    doc = run_cli("eval", "router@4", "--json", cwd=project).json()
    assert doc["summary"]["errors"] == BOOMS
    assert doc["model_errors"]["count"] == BOOMS
    assert doc["summary"]["metrics"]["overall"]["accuracy"]["value"] == pytest.approx(
        (CASES - BOOMS) / CASES
    )
    assert doc["id"] in _run_ids(run_cli, project)
    raised = [c for c in doc["model_errors"]["first"] if "BOOM" in c["text"]]
    assert len(raised) == BOOMS
    # the confusion matrix names its last column: the cases the model raised on
    conf = doc["summary"]["confusion"]
    assert conf["columns"] == ["billing", "technical", "(error)"]
    assert sum(row[conf["columns"].index("(error)")] for row in conf["matrix"]) == BOOMS


def test_a_baseline_lacking_a_label_gets_those_cases_wrong(run_cli: Runner, project: Path) -> None:
    # The candidate adds nothing here, but the same holds for one that adds a label: the older
    # baseline cannot answer it, so it is wrong on those cases (not an error of the run).
    r = run_cli("eval", "router@1", "--baseline", "5", "--json", cwd=project)
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["summary"]["baseline"] == "router@5"
    billing = sum(y == "billing" for _, y, _ in [*ROWS * 3, UNIQUE])
    overall = doc["summary"]["metrics"]["overall"]
    assert overall["accuracy"]["baseline_value"] == pytest.approx(billing / CASES)
    # macro-F1 as scikit-learn: billing's F1 and technical's 0, averaged
    f1_billing = 2 * billing / (CASES + billing)
    assert overall["macro_f1"]["baseline_value"] == pytest.approx(f1_billing / 2)
    assert _verdicts(doc)["accuracy better than baseline"] == "pass"
    human = run_cli("eval", "router@1", "--baseline", "5", cwd=project)
    assert human.code == 0
    assert "internal error" not in human.err
    # It gives the labels it does not know no probability: log loss counts them, clipped.
    with suite_edit(project, "metrics: [accuracy, macro_f1]", "metrics: [accuracy, log_loss]"):
        r = run_cli("eval", "router@1", "--baseline", "5", "--json", cwd=project)
    assert r.code == 0, r.err
    loss = r.json()["summary"]["metrics"]["overall"]["log_loss"]["baseline_value"]
    eps = float(np.finfo(np.float64).eps)
    assert loss == pytest.approx((CASES - billing) / CASES * -np.log(eps))


def test_a_family_that_cannot_apply_is_reported_as_not_applicable(
    run_cli: Runner, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # router's model reads only the text: dropping optional fields could change nothing
    families = "perturbations: [casing, whitespace]"
    with suite_edit(project, families, "perturbations: [casing, drop_optional]"):
        doc = run_cli("eval", "router@1", "--json", cwd=project).json()
        monkeypatch.setenv("COLUMNS", "80")
        report = tmp_path / "report.html"
        human = run_cli("eval", "router@1", "--html", str(report), cwd=project)
    rob = doc["summary"]["robustness"]
    assert list(rob["families"]) == ["casing"]
    assert (
        "the model sees no optional field (it sees: text)" in rob["not_applicable"]["drop_optional"]
    )
    assert re.search(r"drop_optional\s+│ n/a\s+│ n/a", human.out)
    assert "n/a drop_optional: the model sees no optional field" in " ".join(human.out.split())
    assert "drop_optional: not applicable" in report.read_text(encoding="utf-8")


# --- bad input: exit 4, a message naming the problem, nothing stored ------------------------


def _refused(run_cli: Runner, project: Path, *args: str) -> Result:
    before = _run_ids(run_cli, project)
    r = run_cli("eval", *args, cwd=project)
    assert r.code == 4, (r.code, r.out, r.err)
    assert "Traceback" not in r.err
    assert "internal error" not in r.err
    assert _run_ids(run_cli, project) == before
    return r


def test_suite_naming_a_missing_column(run_cli: Runner, project: Path) -> None:
    with suite_edit(project, "where: {language: es}", "where: {country: fr}"):
        r = _refused(run_cli, project, "router@1")
    assert "slice 'spanish' names column 'country'" in r.err
    assert "router-eval@1" in r.err
    assert "language" in r.err
    with suite_edit(project, "expected: label", "expected: route"):
        r = _refused(run_cli, project, "router@1")
    assert "no column 'route'" in r.err


def test_suite_naming_a_dataset_that_does_not_exist(run_cli: Runner, project: Path) -> None:
    with suite_edit(project, "dataset: router-eval", "dataset: router-evil"):
        r = _refused(run_cli, project, "router@1")
    assert "dataset router-evil does not exist" in r.err
    assert "named by the cases of the suite" in r.err
    with suite_edit(project, "dataset: router-must", "dataset: router-mist"):
        r = _refused(run_cli, project, "router@1")
    assert "router-mist does not exist" in r.err
    assert "named by the must-pass of the suite" in r.err
    with suite_edit(project, "dataset: router-eval", "dataset: router-eval@7"):
        r = _refused(run_cli, project, "router@1")
    assert "router-eval@7 does not exist" in r.err
    assert "only version 1" in r.err
    with suite_edit(project, "dataset: router-eval", "dataset: router-eval@latest"):
        r = _refused(run_cli, project, "router@1")
    assert "suite.yaml:3" in r.err
    assert "'router-eval@latest' is not a dataset reference" in r.err


def test_cases_whose_labels_the_model_does_not_know(run_cli: Runner, project: Path) -> None:
    with suite_edit(project, "dataset: router-eval", "dataset: router-unknown"):
        r = _refused(run_cli, project, "router@1")
    assert "labels router@1 does not know: shipping" in r.err
    assert "its labels: billing, technical" in r.err
    # A probe expecting an unknown label could never hold: refused the same way.
    with suite_edit(project, "expect: {label: billing}", "expect: {label: shipping}"):
        r = _refused(run_cli, project, "router@1")
    assert "probe 'refunds are billing' expects label 'shipping'" in r.err


def test_an_empty_dataset(run_cli: Runner, project: Path, tmp_path: Path) -> None:
    empty = _csv(tmp_path / "empty.csv", [])
    r = run_cli("dataset", "add", str(empty), "--name", "router-empty", cwd=project)
    assert r.code == 4
    assert "empty.csv has no rows" in r.err
    # so a suite cannot point at it either
    with suite_edit(project, "dataset: router-eval", "dataset: router-empty"):
        r = _refused(run_cli, project, "router@1")
    assert "dataset router-empty does not exist" in r.err


def test_a_gate_on_an_unknown_metric(run_cli: Runner, project: Path) -> None:
    with suite_edit(project, "{metric: accuracy, min: 0.7", "{metric: acuracy, min: 0.7"):
        r = _refused(run_cli, project, "router@1")
    assert "suite.yaml:" in r.err
    assert "unknown gate metric 'acuracy'" in r.err
    with suite_edit(project, "{metric: accuracy, min: 0.7", "{metric: log_loss, max: 0.7"):
        r = _refused(run_cli, project, "router@1")
    assert "'log_loss' is not among the suite's metrics" in r.err


def test_a_gate_that_could_never_have_evidence(run_cli: Runner, project: Path) -> None:
    line = 1 + SUITE.splitlines().index("  - {metric: must_pass, min: 1.0, kind: blocker}")
    # a built-in metric is measured over the whole suite, not per slice
    with suite_edit(
        project, "{metric: must_pass, min: 1.0,", "{metric: probes, slice: spanish, min: 1.0,"
    ):
        r = _refused(run_cli, project, "router@1")
    assert f"suite.yaml:{line}" in r.err
    assert "gate 'probes[spanish] >= 1'" in r.err
    assert "measured over the whole suite, not per slice" in r.err
    # no must-pass cases at all: neither a must_pass block nor promoted regression cases
    with suite_edit(project, "\n  must_pass: {dataset: router-must}", ""):
        r = _refused(run_cli, project, "router@1")
    assert f"suite.yaml:{line - 1}" in r.err
    assert "gate 'must_pass >= 1'" in r.err
    assert "no must-pass cases" in r.err
    assert "router has no promoted regression cases" in r.err


def test_a_baseline_that_does_not_exist(run_cli: Runner, project: Path) -> None:
    r = _refused(run_cli, project, "router@2", "--baseline", "9")
    assert "router@9 does not exist" in r.err
    r = _refused(run_cli, project, "router@2", "--baseline", "stable")
    assert "router has no alias 'stable'" in r.err
    r = _refused(run_cli, project, "router@2", "--baseline", "9", "--json")
    assert r.json()["error"] == "version_not_found"  # with --json, the error is JSON too
