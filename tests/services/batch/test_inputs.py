"""The reader's chunks and the column-wise input check, against plain Python."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from liveops.core.project import FieldSpec
from liveops.core.serving.inputs import check_instance
from liveops.services.batch.inputs import open_input, records_of, surely_valid

FIELDS = {
    "text": FieldSpec(type="string", required=True, max_length=5),
    "channel": FieldSpec(type="enum", values=["email", "chat"]),
    "n": FieldSpec(type="integer", min=0, max=10),
    "x": FieldSpec(type="number", required=True, min=-1.5),
}


def test_column_check_agrees_with_the_gateways_row_check() -> None:
    """A row the column-wise check passes is one the gateway's check passes, and vice versa."""
    rng = random.Random(3)
    texts = [None, "", "abc", "abcdef", "héllo"]
    channels = [None, "email", "chat", "fax"]
    ns = [None, 0, 3, 10, 11, -1]
    xs = [None, -2.0, -1.5, 0.0, 3.7, math.nan, math.inf]
    rows = [
        {
            "text": rng.choice(texts),
            "channel": rng.choice(channels),
            "n": rng.choice(ns),
            "x": rng.choice(xs),
        }
        for _ in range(2000)
    ]
    table = pa.Table.from_pylist(rows)
    fast = surely_valid(table, FIELDS, "parquet")
    records, _, _ = records_of(table, FIELDS, "parquet", None)
    slow = [not check_instance(r, FIELDS, ()) for r in records]
    assert fast == slow
    assert 0 < sum(slow) < len(slow)


def test_integers_as_floats_must_be_whole() -> None:
    table = pa.table({"text": ["a", "b"], "x": [1.0, 1.0], "n": [2.0, 2.5]})
    assert surely_valid(table, FIELDS, "parquet") == [True, False]


@pytest.mark.parametrize("skip", [frozenset(), frozenset({0, 1, 2}), frozenset({1, 3, 4})])
def test_chunks_straddle_row_groups_and_skip_finished_ones(
    tmp_path: Path, skip: frozenset[int]
) -> None:
    """Chunks of 7 rows over row groups of 5: exact chunks, the same rows whether or not
    earlier chunks are skipped (a resumed run)."""
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": [f"t{i}" for i in range(33)], "x": [0.0] * 33}), path,
                   row_group_size=5)  # fmt: skip
    source = open_input(path, None, FIELDS)
    chunks = list(source.chunks(7, skip))
    assert [c.index for c in chunks] == [k for k in range(5) if k not in skip]
    for c in chunks:
        assert c.first_row == 7 * c.index
        want = [f"t{i}" for i in range(c.first_row, min(33, c.first_row + 7))]
        assert c.table.column("text").to_pylist() == want
