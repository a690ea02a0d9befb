"""The terminal eval report on a tabular classifier (scikit-learn's wine data, 13 numeric
columns and one categorical) whose labels are long: per-label precision and recall are shown,
and the report still fits 80 columns without cutting a label."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveops.services.datasets import add_dataset
from liveops.services.registry import apply_project, load_project, register_version
from liveops.store import open_store
from tests.cli_runner import Runner

MODULE = "wine_report_models"
LABELS = (
    "Barolo from the Langhe hills of Piedmont, made from Nebbiolo grapes",
    "Grignolino d'Asti, a pale and tannic red from Monferrato in Piedmont",
    "Barbera, the deep-coloured everyday red of Piedmont and Lombardy too",
)

MODELS = """
import numpy as np
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

LABELS = __LABELS__


class Wine:
    def __init__(self, columns, *, weak=False):
        data = load_wine()
        self.columns = columns
        # the weak model sees two columns only: it confuses the classes
        use = [columns.index(c) for c in (columns[:2] if weak else columns)]
        self.use = use
        self.pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
        self.pipe.fit(data.data[::2][:, use], data.target[::2])
        self.classes = LABELS

    def predict_batch(self, records):
        x = np.array([[float(r[self.columns[i]]) for i in self.use] for r in records])
        proba = self.pipe.predict_proba(x)
        return [
            {"label": LABELS[int(p.argmax())], "scores": dict(zip(LABELS, map(float, p)))}
            for p in proba
        ]


def strong():
    from sklearn.datasets import load_wine
    return Wine([c.replace("/", "_") for c in load_wine().feature_names])


def weak():
    from sklearn.datasets import load_wine
    return Wine([c.replace("/", "_") for c in load_wine().feature_names], weak=True)
""".replace("__LABELS__", repr(LABELS))


@pytest.fixture(scope="module")
def wine_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sklearn.datasets import load_wine

    data = load_wine()
    cols = [c.replace("/", "_") for c in data.feature_names]  # as the model names them
    root = tmp_path_factory.mktemp("wine-report")
    inputs = "\n".join(f"      {c}: {{type: number, required: true}}" for c in cols)
    (root / "liveops.yaml").write_text(
        "services:\n  - name: wine\n    owner: team@example.com\n    inputs:\n"
        f"{inputs}\n      colour: {{type: enum, values: [light, medium, deep]}}\n"
        f"    output: {{labels: {list(LABELS)!r}}}\n    suite: suite.yaml\n"
    )
    (root / "suite.yaml").write_text(
        "cases: {dataset: wine-eval, expected: cultivar, text_field: colour}\n"
        "metrics: [accuracy, macro_f1, per_class]\n"
        "slices:\n  - {name: deep colour, where: {colour: deep}}\n"
        "gates:\n  - {metric: accuracy, min: 0.8, kind: blocker}\n"
        "latency_calls: 5\n"
    )
    (root / f"{MODULE}.py").write_text(MODELS)
    # the held-out half of the data: the models were fitted on the other half
    rows = []
    for x, y in zip(data.data[1::2], data.target[1::2], strict=True):
        band = "light" if x[9] < 3.5 else "medium" if x[9] < 6 else "deep"
        rows.append([*map(str, x), band, f'"{LABELS[int(y)]}"'])
    header = ",".join([*cols, "colour", "cultivar"])
    (root / "eval.csv").write_text(header + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("LIVEOPS_DATABASE_URL", raising=False)
        store = open_store(project_dir=root)
    try:
        apply_project(store, load_project(root), actor="setup")
        add_dataset(store, root / "eval.csv", name="wine-eval", actor="setup")
        for factory in ("strong", "weak"):
            register_version(
                store, "wine", actor="setup", entrypoint=f"{MODULE}:{factory}", cwd=root
            )
    finally:
        store.close()
    return root


def _expected_per_label(project: Path, ref: str) -> dict[str, tuple[float, float]]:
    """Precision and recall per label as scikit-learn computes them on the run's answers."""
    import sys

    from sklearn.metrics import precision_recall_fscore_support

    from liveops.services.evaluation import list_runs

    sys.path.insert(0, str(project))
    store = open_store(project_dir=project)
    try:
        run = list_runs(store, ref, limit=1)[0]
        cases = store.evaluation.cases(run.id, source="eval")
    finally:
        store.close()
    y_true = [c.expected for c in cases]
    y_pred = [c.predicted for c in cases]
    p, r, _, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=list(LABELS), zero_division=0
    )
    return {label: (float(p[i]), float(r[i])) for i, label in enumerate(LABELS)}


@pytest.mark.parametrize("ref", ["wine@1", "wine@2"])
def test_the_terminal_report_shows_precision_and_recall_per_label_within_80_columns(
    run_cli: Runner, wine_project: Path, monkeypatch: pytest.MonkeyPatch, ref: str
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    r = run_cli("eval", ref, cwd=wine_project)
    assert r.code in (0, 1), r.err
    assert max(len(line) for line in r.out.splitlines()) <= 80
    assert "…" not in r.out  # no label is cut anywhere in the report
    table = r.out[r.out.index("per label") :]
    table = table[: table.index("└")]
    assert "precision" in table
    assert "recall" in table
    rows = [line.strip("│ ").split("│") for line in table.splitlines() if line.startswith("│")]
    cells = [[c.strip() for c in row] for row in rows]
    expected = _expected_per_label(wine_project, ref)
    for label, (precision, recall) in expected.items():
        # the label folds over several lines, whole: its words are all there, in order
        start = next(i for i, c in enumerate(cells) if c[0] and label.startswith(c[0]))
        folded = ""
        for c in cells[start:]:
            folded += c[0]
            if len(folded) >= len(label.replace(" ", "")) or c is cells[-1]:
                break
        assert folded.replace(" ", "") == label.replace(" ", "")
        assert cells[start][1] == f"{precision:.3f}"
        assert cells[start][2] == f"{recall:.3f}"


def test_the_json_names_the_confusion_matrix_error_column(
    run_cli: Runner, wine_project: Path
) -> None:
    doc = run_cli("eval", "wine@2", "--json", cwd=wine_project).json()
    conf = doc["summary"]["confusion"]
    assert conf["columns"] == [*LABELS, "(error)"]
    assert all(len(row) == len(conf["columns"]) for row in conf["matrix"])
    assert doc["summary"]["per_class"][LABELS[0]]["precision"] is not None


def test_a_run_stored_before_the_summary_was_typed_still_shows(
    run_cli: Runner, tmp_path: Path
) -> None:
    """The stored row is written as the code before typing wrote it (no confusion ``columns``),
    then shown, listed, reported in HTML and read by readiness from its stored verdicts."""
    import json

    from liveops.store.tables import eval_runs
    from tests.services.conftest import PROJECT_YAML, train_tiny

    (tmp_path / "liveops.yaml").write_text(PROJECT_YAML)
    assert run_cli("service", "apply").code == 0
    for c in (1.0, 0.5):
        model = train_tiny(tmp_path / f"m{c}.skops", c=c)
        assert run_cli("register", "router", "--artifact", str(model)).code == 0
    old = json.loads(
        (
            Path(__file__).parents[1] / "core" / "data" / "eval_summary_before_typing.json"
        ).read_text()
    )
    store = open_store(project_dir=tmp_path)
    try:
        with store.write() as conn:
            conn.execute(
                eval_runs.insert().values(
                    id="0ld0ld00",
                    service="router",
                    version=2,
                    baseline_version=1,
                    suite_hash=old["suite_hash"],
                    created_at=store.clock.now(),
                    actor="before",
                    summary=old,
                    exit_code=old["exit_code"],
                )
            )
    finally:
        store.close()

    shown = run_cli("runs", "show", "0ld0ld00", "--json")
    assert shown.code == 0, shown.err
    assert shown.json()["summary"]["confusion"]["columns"] == ["billing", "technical", "(error)"]
    assert {k: v for k, v in shown.json()["summary"].items() if k != "confusion"} == {
        k: v for k, v in old.items() if k != "confusion"
    }
    human = run_cli("runs", "show", "0ld0ld00", "--html", str(tmp_path / "old.html"))
    assert human.code == 0, human.err
    assert "per label" in human.out
    assert "must_pass >= 1" in human.out
    assert "(error)" in (tmp_path / "old.html").read_text(encoding="utf-8")
    listed = run_cli("runs", "list", "--json").json()
    assert listed[0]["id"] == "0ld0ld00"
    assert listed[0]["gates"] == "2 fail, 2 pass"
    ready = run_cli("readiness", "router@2", "--json")
    assert ready.code == 1  # the stored must-pass blocker failed
    gates = {c["name"]: c["status"] for c in ready.json()["checks"] if c["group"] == "gates"}
    assert gates == {
        "blocker accuracy >= 0.7": "pass",
        "blocker must_pass >= 1": "fail",
        "guardrail accuracy[spanish] not worse than baseline by 0.01": "pass",
    }
