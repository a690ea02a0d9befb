"""``liveops drift REFERENCE CURRENT`` through the real entry point, on real files.

A tabular pair (scikit-learn's breast-cancer columns and a clinic category, as the tabular
test service), a text pair (support messages with a channel), statistics checked against
scipy on the command's --json output, every bad input with its message and exit code, the
HTML report and a stored dataset as the reference on both database backends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from tests.cli_runner import Runner
from tests.tabular import TABULAR_YAML


def cancer_tables() -> tuple[pa.Table, pa.Table]:
    """The tabular service's columns: the reference, and a current batch from another clinic
    mix with larger tumours and a texture column that arrives a third empty."""
    from sklearn.datasets import load_breast_cancer

    x = load_breast_cancer().data
    rng = np.random.default_rng(3)
    ref = pa.table(
        {
            "mean_radius": x[:, 0],
            "mean_texture": x[:, 1],
            "clinic": np.where(np.arange(len(x)) % 2 == 0, "north", "south"),
        }
    )
    idx = rng.integers(0, len(x), 400)
    texture = x[idx, 1].copy()
    texture[rng.random(400) < 0.35] = np.nan
    cur = pa.table(
        {
            "mean_radius": x[idx, 0] * 1.4,
            "mean_texture": pa.array(texture, from_pandas=True),
            "clinic": rng.choice(["north", "south", "east"], 400, p=[0.2, 0.4, 0.4]),
        }
    )
    return ref, cur


def write(table: pa.Table, path: Path) -> Path:
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    elif path.suffix == ".csv":
        pacsv.write_csv(table, path)
    else:
        path.write_text(
            "".join(json.dumps(row) + "\n" for row in table.to_pylist()), encoding="utf-8"
        )
    return path


def test_tabular_files_report_quality_first_and_fail_for_ci(
    run_cli: Runner, tmp_path: Path
) -> None:
    ref, cur = cancer_tables()
    r = run_cli(
        "drift", str(write(ref, tmp_path / "ref.parquet")), str(write(cur, tmp_path / "cur.csv"))
    )
    assert r.code == 1, r.err
    out = r.out
    assert out.index("data quality") < out.index("drift per column")
    assert "mean_texture" in out
    assert "missing_share" in out
    assert "pipeline" in out
    assert "'east'" in out  # the unseen clinic, named
    assert "fail: 1 pipeline problem, 2 drifted columns (exit 1)" in out
    # the drift table is sorted by effect size: the radius (x1.4) moved most
    table = out[out.index("drift per column") :]
    assert table.index("mean_radius") < table.index("clinic") < table.index("mean_texture")
    assert "Traceback" not in r.err

    same = run_cli("drift", str(tmp_path / "ref.parquet"), str(tmp_path / "ref.parquet"))
    assert same.code == 0
    assert "pass: no drift, no pipeline problem" in same.out


def _fixture_files(tmp_path: Path) -> tuple[Path, Path, dict[str, Any], dict[str, Any]]:
    rng = np.random.default_rng(5)
    ref = {
        "normal": rng.normal(0, 1, 3000),
        "ties": rng.poisson(2, 3000).astype(float),
        "heavy": rng.standard_t(3, 3000),
        "plan": rng.choice(["a", "b", "c", "d"], 3000, p=[0.4, 0.3, 0.2, 0.1]),
    }
    cur = {
        "normal": rng.normal(0.15, 1.1, 2000),
        "ties": rng.poisson(2.2, 2000).astype(float),
        "heavy": rng.standard_cauchy(2000),
        "plan": rng.choice(["a", "b", "c", "d", "e"], 2000, p=[0.35, 0.3, 0.2, 0.1, 0.05]),
    }
    a = write(pa.table(ref), tmp_path / "ref.parquet")
    b = write(pa.table(cur), tmp_path / "cur.jsonl")
    return a, b, ref, cur


def test_the_statistics_in_the_json_equal_scipys(run_cli: Runner, tmp_path: Path) -> None:
    a, b, ref, cur = _fixture_files(tmp_path)
    r = run_cli("drift", str(a), str(b), "--json")
    assert r.code == 1, r.err
    data = r.json()
    cols = {c["column"]: c for c in data["drift"]["columns"]}
    for name in ("normal", "ties", "heavy"):
        c = cols[name]
        expected = stats.wasserstein_distance(ref[name], cur[name]) / np.std(ref[name])
        assert c["method"] == "wasserstein"
        assert c["statistic"] == pytest.approx(expected, rel=1e-9)
        assert c["reference_size"] == 3000
        assert c["current_size"] == 2000
        assert sum(c["histogram"]["reference"]) == 3000
        assert len(c["histogram"]["edges"]) == len(c["histogram"]["current"]) + 1
    plan = cols["plan"]
    h = plan["histogram"]
    assert h["labels"] == ["a", "b", "c", "d", "other"]  # "e" is new: grouped into other
    assert plan["statistic"] == pytest.approx(
        jensenshannon(h["reference"], h["current"], base=2), rel=1e-9
    )
    assert h["current"][-1] == int((cur["plan"] == "e").sum())

    tested = run_cli("drift", str(a), str(b), "--json", "--tests").json()
    cols = {c["column"]: c for c in tested["drift"]["columns"]}
    p_values = []
    for name in ("normal", "ties", "heavy"):
        ks = stats.ks_2samp(ref[name], cur[name])
        assert cols[name]["method"] == "ks"
        assert cols[name]["statistic"] == pytest.approx(ks.statistic, rel=1e-12)
        assert cols[name]["p_value"] == pytest.approx(ks.pvalue, rel=1e-9)
        p_values.append(ks.pvalue)
    table = np.array([cols["plan"]["histogram"]["reference"], cols["plan"]["histogram"]["current"]])
    chi2 = stats.chi2_contingency(table)
    assert cols["plan"]["statistic"] == pytest.approx(chi2.statistic, rel=1e-9)
    assert cols["plan"]["p_value"] == pytest.approx(chi2.pvalue, rel=1e-9)
    p_values.append(chi2.pvalue)
    adjusted = stats.false_discovery_control(p_values, method="bh")
    got = [cols[n]["p_adjusted"] for n in ("normal", "ties", "heavy", "plan")]
    assert got == pytest.approx(list(adjusted), rel=1e-9)


def test_text_files_show_length_vocabulary_and_new_terms(run_cli: Runner, tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    base = [
        "where is my parcel, it was due on monday and nothing has arrived yet",
        "please refund the second charge on my card from last week",
        "how do I change the delivery address on an order I already placed",
        "the app logs me out every time I open the payments page",
    ]
    crypto = "my wallet shows a bitcoin withdrawal I never made, is my crypto account hacked?"
    ref = pa.table(
        {
            "message": [base[k] for k in rng.integers(0, 4, 1200)],
            "channel": rng.choice(["email", "chat", "phone"], 1200).tolist(),
        }
    )
    cur_msgs = [crypto + f" (ticket {i})" if i % 2 else base[i % 4] for i in range(600)]
    cur = pa.table({"message": cur_msgs, "channel": rng.choice(["email", "chat"], 600).tolist()})
    r = run_cli(
        "drift",
        str(write(ref, tmp_path / "ref.jsonl")),
        str(write(cur, tmp_path / "cur.jsonl")),
        "--json",
    )
    assert r.code == 1, r.err
    cols = {c["column"]: c for c in r.json()["drift"]["columns"]}
    message = cols["message"]
    assert message["kind"] == "text"
    assert message["drifted"] is True
    terms = [t["term"] for t in message["text"]["new_terms"]]
    assert "bitcoin" in terms
    assert "crypto" in terms
    assert message["text"]["oov_drifted"] is True
    assert cols["channel"]["kind"] == "category"
    assert cols["channel"]["drifted"] is True


def _bad_inputs(tmp_path: Path) -> list[tuple[str, str, str]]:
    ref, _ = cancer_tables()
    good = write(ref, tmp_path / "good.parquet")
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text("mean_radius,mean_texture,clinic\n")
    (tmp_path / "one.csv").write_text("mean_radius,mean_texture,clinic\n14.1,19.2,north\n")
    pq.write_table(ref, tmp_path / "parquet_inside.csv")  # Parquet bytes, a .csv name
    csv_bytes = write(ref, tmp_path / "real.csv").read_bytes()
    (tmp_path / "csv_inside.parquet").write_bytes(csv_bytes)
    (tmp_path / "csv_inside.jsonl").write_bytes(csv_bytes)
    (tmp_path / "other.csv").write_text("a,b\n1,2\n3,4\n")
    g = str(good)
    return [
        (g, str(tmp_path / "empty.csv"), "empty.csv is empty"),
        (g, str(tmp_path / "header.csv"), "header.csv has no rows"),
        (g, str(tmp_path / "one.csv"), "has 1 row: drift needs at least 2 rows on each side"),
        (str(tmp_path / "one.csv"), g, "has 1 row"),
        (g, str(tmp_path / "parquet_inside.csv"), "is not a CSV file: its content is a Parquet"),
        (g, str(tmp_path / "csv_inside.parquet"), "is not a PARQUET file"),
        (g, str(tmp_path / "csv_inside.jsonl"), "is not a readable JSONL file"),
        (g, str(tmp_path / "missing.csv"), "missing.csv does not exist"),
        (g, str(tmp_path / "other.csv"), "has none of the compared columns"),
        (g, "no-such-dataset", "is not a file, and there is no project"),
    ]


def test_bad_input_exits_4_with_a_message_never_a_traceback(
    run_cli: Runner, tmp_path: Path
) -> None:
    for reference, current, message in _bad_inputs(tmp_path):
        for extra in ((), ("--json",)):
            r = run_cli("drift", reference, current, *extra)
            assert r.code == 4, (current, r.out, r.err)
            assert message in " ".join(r.err.split()), (current, r.err)
            assert "next:" in r.err
            assert "Traceback" not in r.err
            if extra:
                assert r.json()["error"] in (
                    "invalid_dataset_file",
                    "invalid_input",
                    "dataset_not_found",
                )
    r = run_cli(
        "drift", str(tmp_path / "good.parquet"), str(tmp_path / "good.parquet"), "--columns", "nope"
    )
    assert r.code == 2
    assert "no column 'nope'" in r.err


def test_schema_problems_are_pipeline_findings_with_exit_1(run_cli: Runner, tmp_path: Path) -> None:
    ref, _ = cancer_tables()
    n = ref.num_rows
    # texture arrives as text ("n/a" in a tenth of the rows), the clinic column is gone, the
    # radius arrives empty, and a column the reference never had appears.
    texture = [
        ("n/a" if i % 10 == 0 else f"{v:.2f}")
        for i, v in enumerate(ref["mean_texture"].to_pylist())
    ]
    cur = pa.table(
        {
            "mean_radius": pa.nulls(n, pa.float64()),
            "mean_texture": texture,
            "batch_id": list(range(n)),
        }
    )
    r = run_cli(
        "drift",
        str(write(ref, tmp_path / "ref.parquet")),
        str(write(cur, tmp_path / "cur.parquet")),
        "--json",
    )
    assert r.code == 1, r.err
    found = {(f["column"], f["check"]): f["label"] for f in r.json()["quality"]}
    assert r.json()["exit_code"] == 1
    assert found == {
        ("mean_radius", "all_missing"): "pipeline",
        ("mean_texture", "type_changed"): "pipeline",
        ("clinic", "missing_column"): "pipeline",
        ("batch_id", "extra_columns"): "note",
    }
    assert r.json()["drift"]["columns"] == []


def test_a_category_with_100k_values_is_capped_and_says_so(run_cli: Runner, tmp_path: Path) -> None:
    n = 100_000
    rng = np.random.default_rng(9)
    ref = pa.table({"customer": [f"c{i:06d}" for i in range(n)], "x": rng.normal(0, 1, n)})
    cur = pa.table(
        {"customer": [f"c{i:06d}" for i in range(n, n + 2000)], "x": rng.normal(0, 1, 2000)}
    )
    r = run_cli(
        "drift",
        str(write(ref, tmp_path / "ref.parquet")),
        str(write(cur, tmp_path / "cur.parquet")),
    )
    assert r.code == 0, r.err
    text = " ".join(r.out.split())
    assert "100,000 reference values grouped to the top 50 + other" in text
    assert "capped" in text
    assert "an identifier?" in text


def test_html_report_is_self_contained_quality_first(run_cli: Runner, tmp_path: Path) -> None:
    ref, cur = cancer_tables()
    report = tmp_path / "out" / "drift.html"
    r = run_cli(
        "drift",
        str(write(ref, tmp_path / "ref.parquet")),
        str(write(cur, tmp_path / "cur.parquet")),
        "--html",
        str(report),
    )
    assert r.code == 1
    html = report.read_text(encoding="utf-8")
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html
    assert "<script" not in html
    assert html.index("Data quality") < html.index("Columns, largest effect first")
    assert html.count("<svg") >= 4  # the legend and one chart per column
    assert "missing share jumped" in html
    assert "drifted" in html


@pytest.mark.parametrize("backend", ["sqlite-file", "postgres"])
def test_a_stored_dataset_as_the_reference(
    run_cli: Runner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    if backend == "postgres":
        monkeypatch.setenv("LIVEOPS_DATABASE_URL", request.getfixturevalue("pg_schema_url"))
    (tmp_path / "liveops.yaml").write_text(TABULAR_YAML)
    ref, cur = cancer_tables()
    write(ref, tmp_path / "train.csv")
    assert run_cli("dataset", "add", "train.csv", "--name", "cancer-train").code == 0
    r = run_cli("drift", "cancer-train", str(write(cur, tmp_path / "cur.parquet")), "--json")
    assert r.code == 1, r.err
    data = r.json()
    assert data["reference"]["source"] == "dataset cancer-train@1"
    assert data["reference"]["rows"] == ref.num_rows  # every row, not a sample
    assert "mean_radius" in data["drifted_columns"]
    r = run_cli("drift", "cancer-train@7", str(tmp_path / "cur.parquet"))
    assert r.code == 4
    assert "cancer-train@7 does not exist" in r.err


def _demo_file(path: Path, n: int, seed: int, mode: Any) -> Path:
    from liveops.demo.data import generate_records

    rows = generate_records(n, seed=seed, mode=mode)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_the_demo_worlds_on_files(run_cli: Runner, tmp_path: Path) -> None:
    """covariate_shift: text length, language and channel mix; new_world: new frequent terms
    and a label the reference never had."""
    ref = str(_demo_file(tmp_path / "normal.jsonl", 3000, 1, "normal"))
    shift = _demo_file(tmp_path / "shift.jsonl", 1500, 2, "covariate_shift")
    data = run_cli("drift", ref, str(shift), "--json").json()
    assert set(data["drifted_columns"]) == {"text", "language", "channel"}
    new = _demo_file(tmp_path / "new.jsonl", 1500, 2, "new_world")
    r = run_cli("drift", ref, str(new), "--json")
    assert r.code == 1
    data = r.json()
    text = next(c for c in data["drift"]["columns"] if c["column"] == "text")
    terms = [t["term"] for t in text["text"]["new_terms"]]
    assert terms[0] == "orbit"
    assert "launch" in terms
    unseen = next(f for f in data["quality"] if f["check"] == "unseen_categories")
    assert unseen["column"] == "label"
    assert "'account_security'" in unseen["message"]
    # the list column is named, not compared
    assert any(f["column"] == "tags" and f["check"] == "not_compared" for f in data["quality"])


def test_csv_columns_are_typed_as_a_whole(run_cli: Runner, tmp_path: Path) -> None:
    """A number column with "n/a" past pyarrow's first block is a type change, not an
    unreadable file; a saved pandas index is dropped; dates are named, not compared."""
    import pandas as pd

    rng = np.random.default_rng(4)
    n = 80_000
    days = pd.date_range("2026-01-01", periods=n, freq="min").strftime("%Y-%m-%d %H:%M:%S")
    ref = pd.DataFrame({"amount": rng.normal(100, 20, n).round(2), "day": days, "ok": "true"})
    ref.loc[::3, "ok"] = "false"
    cur = ref.copy()
    cur["amount"] = cur["amount"].astype(str)
    cur.loc[n - 50 :, "amount"] = "n/a"  # far past the first MB of the file
    ref.to_csv(tmp_path / "ref.csv")  # with pandas' unnamed index column
    cur.to_csv(tmp_path / "cur.csv", index=False)
    r = run_cli("drift", str(tmp_path / "ref.csv"), str(tmp_path / "cur.csv"), "--json")
    assert r.code == 1, r.err
    data = r.json()
    found = {(f["column"], f["check"]): f["label"] for f in data["quality"]}
    assert found == {
        ("amount", "type_changed"): "pipeline",
        ("day", "not_compared"): "note",
    }
    assert data["reference"]["columns"] == {
        "amount": "double",
        "day": "timestamp[us]",
        "ok": "bool",
    }
    ok = next(c for c in data["drift"]["columns"] if c["column"] == "ok")
    assert ok["histogram"]["labels"] == ["true", "false"]
    assert ok["drifted"] is False


def test_no_pandas_on_the_path_and_a_saved_index_is_not_a_column(tmp_path: Path) -> None:
    """In a fresh process: files of every format are read and checked without importing
    pandas; a Parquet file saved by pandas with its index has no extra column."""
    import subprocess
    import sys

    import pandas as pd

    rng = np.random.default_rng(6)
    frame = pd.DataFrame({"x": rng.normal(0, 1, 500), "plan": rng.choice(["a", "b"], 500)})
    frame.iloc[::2].to_parquet(tmp_path / "ref.parquet")  # a filtered index: stored as a column
    frame.to_csv(tmp_path / "cur.csv", index=False)
    frame.assign(x=frame["x"].where(frame.index % 7 > 0)).to_json(
        tmp_path / "cur.jsonl", orient="records", lines=True
    )
    code = """
import sys
from liveops.cli.main import run
for current in ("cur.csv", "cur.jsonl"):
    sys.argv = ["liveops", "drift", "ref.parquet", current, "--json", "--html", "r.html"]
    try:
        run()
    except SystemExit as exc:
        print("EXIT", exc.code)
print("PANDAS", "pandas" in sys.modules)
"""
    src = Path(__file__).resolve().parents[2] / "src"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        check=True,
    ).stdout
    assert "PANDAS False" in out
    # the same rows pass; with a seventh of x missing (JSON null), a pipeline problem
    assert out.index("EXIT 0") < out.index("EXIT 1"), out
    assert '"columns": {\n      "x": "double",\n      "plan": "string"\n    }' in out
