"""Datasets: formats, missing values, index columns, profiles, identity, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from liveops.errors import DatasetFileError, DatasetNotFound, InvalidInputError
from liveops.services.datasets import add_dataset, load_records, resolve_dataset
from liveops.store import Store


def _csv(tmp_path: Path, text: str, name: str = "d.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_missing_cells_index_column_and_profile(store: Store, tmp_path: Path) -> None:
    path = _csv(tmp_path, ",text,amount,plan\n0,hello there,1.5,pro\n1,None,NA,free\n2,,3.0,\n")
    record, created = add_dataset(store, path, name="d", actor="ann")
    assert created
    assert record.ref == "d@1"
    assert record.rows == 3
    cols = record.profile["columns"]
    assert list(cols) == ["text", "amount", "plan"]  # the saved index is dropped
    assert cols["amount"]["kind"] == "number"
    assert cols["amount"]["missing_share"] == pytest.approx(1 / 3)
    assert cols["plan"]["missing_share"] == pytest.approx(1 / 3)
    rows = load_records(store, record)
    assert rows[1]["text"] == "None"  # only NA and empty cells are missing
    assert rows[2]["text"] is None
    assert rows[1]["amount"] is None
    assert record.profile["reference"] == {"cap": 100_000, "rows": 3, "sampled": False}


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        (",text\n3,a\n7,b\n12,c\n", ["text"]),  # df[mask].to_csv(): the index has gaps
        ("Unnamed: 0,text\n5,a\n2,b\n", ["text"]),  # read and written again by pandas
        (",text\n3,a\n3,b\n", ["Unnamed: 0", "text"]),  # repeated: data, not an index
        (",text\nx,a\ny,b\n", ["Unnamed: 0", "text"]),  # not integers
        ("n,text\n3,a\n7,b\n", ["n", "text"]),  # a named column stays
    ],
    ids=["filtered-index", "unnamed-0", "repeated", "text", "named"],
)
def test_an_unnamed_column_of_unique_integers_is_a_saved_index(
    store: Store, tmp_path: Path, text: str, columns: list[str]
) -> None:
    record, _ = add_dataset(store, _csv(tmp_path, text), name="d", actor="ann")
    assert list(record.profile["columns"]) == columns


@pytest.mark.parametrize("cap", [0, -5])
def test_a_reference_cap_below_one_is_refused(store: Store, tmp_path: Path, cap: int) -> None:
    with pytest.raises(InvalidInputError, match="at least 1 row"):
        add_dataset(store, _csv(tmp_path, "x\n1\n2\n"), name="d", actor="ann", reference_cap=cap)
    assert store.datasets.list(None) == []


def test_same_content_is_a_noop_and_new_content_a_new_version(store: Store, tmp_path: Path) -> None:
    a = _csv(tmp_path, "x\n1\n2\n")
    r1, c1 = add_dataset(store, a, name="d", actor="ann")
    r2, c2 = add_dataset(store, a, name="d", actor="ann")
    assert c1
    assert not c2
    assert r1.number == r2.number == 1
    b = _csv(tmp_path, "x\n1\n3\n", "e.csv")
    r3, _ = add_dataset(store, b, name="d", actor="ann")
    assert r3.number == 2
    assert resolve_dataset(store, "d").number == 2
    assert resolve_dataset(store, "d@1").number == 1
    with pytest.raises(DatasetNotFound, match="d@7"):
        resolve_dataset(store, "d@7")


def test_jsonl_and_parquet_with_lists_and_a_sampled_reference(store: Store, tmp_path: Path) -> None:
    import pandas as pd

    p = tmp_path / "d.jsonl"
    p.write_text(
        "\n".join(
            json.dumps({"text": f"m {i}", "tags": ["a", "b"][: i % 3], "n": i}) for i in range(50)
        )
    )
    record, _ = add_dataset(store, p, name="j", actor="ann", reference_cap=20)
    assert record.profile["columns"]["tags"]["kind"] == "list"
    assert record.reference_rows == 20
    assert record.profile["reference"]["sampled"] is True
    assert load_records(store, record)[4]["tags"] == ["a"]
    pq = tmp_path / "d.parquet"
    pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]}).to_parquet(pq)
    record, _ = add_dataset(store, pq, name="p", actor="ann")
    assert record.format == "parquet"
    assert record.rows == 2


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("d.txt", "x", "cannot tell the format"),
        ("missing.csv", None, "does not exist"),
        ("empty.csv", "a,b\n", "has no rows"),
        ("bad.jsonl", "{not json", "not a readable JSONL"),
        ("bad.parquet", "nope", "not a readable PARQUET"),
    ],
)
def test_bad_files_get_clear_errors_and_store_nothing(
    store: Store, tmp_path: Path, name: str, content: str | None, words: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(DatasetFileError, match=words):
        add_dataset(store, path, name="d", actor="ann")
    assert store.datasets.list() == []
    assert store.audit.verify().events == 0
