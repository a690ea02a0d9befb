"""Registering versions, identity, config overrides, aliases and diffs, on every backend."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from liveops.core.diff import diff_versions
from liveops.errors import (
    ArtifactIntegrityError,
    InvalidInputError,
    ServiceNotFound,
    UsageError,
    VersionNotFound,
)
from liveops.services.registry import load_model, register_version, resolve_version, set_alias
from liveops.store import Store
from tests.services.conftest import train_tiny


def test_register_copies_the_decision_block_and_captures_lineage(
    applied: Store, model_file: Path
) -> None:
    r = register_version(
        applied,
        "router",
        actor="ann",
        artifact=model_file,
        params={"C": 1.0},
        metrics={"accuracy": 0.91},
        message="first",
    )
    v = r.version
    assert r.created
    assert v.ref == "router@1"
    assert v.config["decision"]["threshold"] == 0.75
    assert v.config["decision"]["below_threshold"] == "human_review"
    assert v.config["model_inputs"] == ["text"]
    assert v.lineage["params"] == {"C": 1.0}
    assert v.lineage["python"].startswith("3.")
    assert "scikit-learn" in v.lineage["key_packages"]
    assert v.metrics == {"accuracy": 0.91}
    assert v.owner == "ann"
    events = applied.audit.events(object_id="router@1")
    assert [e.action for e in events] == ["version.registered"]
    assert events[0].actor == "ann"


def test_identical_content_returns_the_existing_version(applied: Store, model_file: Path) -> None:
    first = register_version(applied, "router", actor="ann", artifact=model_file, message="a")
    again = register_version(applied, "router", actor="bob", artifact=model_file, message="b")
    assert not again.created
    assert again.version.number == first.version.number == 1
    # a different threshold is different content: a new version
    other = register_version(
        applied, "router", actor="ann", artifact=model_file, config={"threshold": 0.68}
    )
    assert other.created
    assert other.version.number == 2
    assert other.version.config["decision"]["threshold"] == 0.68


def test_config_overrides_are_validated(applied: Store, model_file: Path) -> None:
    # a bad value is a mistake in the request, like an unknown key: both are usage errors
    with pytest.raises(UsageError, match="threshold"):
        register_version(
            applied, "router", actor="a", artifact=model_file, config={"threshold": 1.5}
        )
    with pytest.raises(UsageError, match="treshold"):
        register_version(
            applied, "router", actor="a", artifact=model_file, config={"treshold": 0.6}
        )
    v = register_version(
        applied, "router", actor="a", artifact=model_file, config={"model.temperature": 0.2}
    )
    assert v.version.config["model.temperature"] == 0.2
    assert (
        applied.registry.list_versions("router")[-1].number == 1
    )  # the failures registered nothing


def test_unknown_service_and_missing_artifact(applied: Store, tmp_path: Path) -> None:
    with pytest.raises(ServiceNotFound, match=r"'nope'.*router"):
        register_version(applied, "nope", actor="a", artifact=tmp_path / "x.skops")
    with pytest.raises(InvalidInputError, match="does not exist"):
        register_version(applied, "router", actor="a", artifact=tmp_path / "missing.skops")
    junk = tmp_path / "junk.skops"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InvalidInputError, match="not a readable skops"):
        register_version(applied, "router", actor="a", artifact=junk)
    with pytest.raises(UsageError):
        register_version(applied, "router", actor="a")


def test_loaded_model_answers_and_a_tampered_artifact_is_refused(
    applied: Store, model_file: Path
) -> None:
    v = register_version(applied, "router", actor="a", artifact=model_file).version
    model = load_model(applied, v)
    out = model.predict_batch([{"text": "I was charged twice"}, {"text": "the app crashes"}])
    assert out.labels == ["billing", "technical"]
    assert out.scores is not None
    assert out.scores.shape == (2, 2)
    stored = applied.artifacts.path_of(v.artifact_hash)
    data = bytearray(stored.read_bytes())
    data[-10] ^= 0xFF
    stored.write_bytes(bytes(data))
    with pytest.raises(ArtifactIntegrityError, match="changed after it was stored"):
        load_model(applied, v)


def test_a_joblib_pickle_registers_with_a_warning_and_answers(
    applied: Store, tmp_path: Path
) -> None:
    import joblib
    import skops.io as sio

    pipe = sio.load(
        train_tiny(tmp_path / "m.skops"), trusted=sio.get_untrusted_types(file=tmp_path / "m.skops")
    )
    path = tmp_path / "model.joblib"
    joblib.dump(pipe, path)
    with pytest.warns(UserWarning, match="is a pickle: loading it runs arbitrary code") as seen:
        result = register_version(applied, "router", actor="a", artifact=path)
    assert seen[0].filename == __file__  # the warning points at the caller's line
    assert any("Prefer skops" in w for w in result.warnings)
    v = result.version
    assert v.artifact_format == "joblib"
    out = load_model(applied, v).predict_batch([{"text": "refund my invoice"}])
    assert out.labels == ["billing"]


def test_an_entry_point_model_registers_and_answers(applied: Store) -> None:
    v = register_version(applied, "router", actor="a", entrypoint="tests.server.models:v1").version
    assert v.artifact_format == "entrypoint"
    out = load_model(applied, v).predict_batch([{"text": "app crash"}, {"text": "refund"}])
    assert out.labels == ["technical", "billing"]
    with pytest.raises(UsageError, match="not module:callable"):
        register_version(applied, "router", actor="a", entrypoint="tests.server.models.v1")


@pytest.mark.parametrize(
    ("entrypoint", "words"),
    [
        ("nomod:fn", "cannot import module 'nomod'"),
        ("tests.server.models:nofn", "tests.server.models has no attribute 'nofn'"),
        ("tests.server.models:KeywordModel.nope", "KeywordModel has no attribute 'nope'"),
        ("tests.server.models:time", "is a module, not a callable"),
        ("broken_model:load", "raised RuntimeError: no GPU here"),
    ],
)
def test_an_entry_point_that_does_not_resolve_is_refused_at_registration(
    applied: Store, tmp_path: Path, entrypoint: str, words: str
) -> None:
    (tmp_path / "broken_model.py").write_text("raise RuntimeError('no GPU here')\n")
    with pytest.raises(InvalidInputError, match=re.escape(words)) as err:
        register_version(applied, "router", actor="a", entrypoint=entrypoint, cwd=tmp_path)
    assert err.value.hint
    assert applied.registry.list_versions("router") == []


def test_an_entry_point_in_the_project_folder_is_found(applied: Store, tmp_path: Path) -> None:
    (tmp_path / "folder_model.py").write_text(
        "from tests.server.models import KeywordModel\n\ndef load():\n    return KeywordModel()\n"
    )
    try:
        v = register_version(
            applied, "router", actor="a", entrypoint="folder_model:load", cwd=tmp_path
        ).version
    finally:
        sys.modules.pop("folder_model", None)  # each backend's run imports its own folder's
    assert v.ref == "router@1"
    assert str(tmp_path) not in sys.path


def test_aliases_resolve_and_moves_are_audited(applied: Store, tmp_path: Path) -> None:
    v1 = register_version(
        applied, "router", actor="a", artifact=train_tiny(tmp_path / "1.skops", 1.0)
    ).version
    v2 = register_version(
        applied, "router", actor="a", artifact=train_tiny(tmp_path / "2.skops", 5.0)
    ).version
    set_alias(applied, "router", "production", "1", actor="ann")
    move = set_alias(applied, "router", "production", "router@2", actor="bob", reason="better")
    assert (move.previous, move.number) == (1, 2)
    assert resolve_version(applied, "router@production").number == 2
    assert resolve_version(applied, "production", default_service="router").number == 2
    set_alias(applied, "router", "candidate", "production", actor="bob")
    assert resolve_version(applied, "router@candidate").number == 2
    moves = [e for e in applied.audit.events(object_id="router@production")]
    assert [(e.actor, e.data["from"], e.data["to"]) for e in moves] == [
        ("bob", 1, 2),
        ("ann", None, 1),
    ]
    with pytest.raises(VersionNotFound, match="no alias 'staging'"):
        resolve_version(applied, "router@staging")
    with pytest.raises(VersionNotFound, match="router@9 does not exist"):
        resolve_version(applied, "router@9")
    d = diff_versions(v1, v2)
    assert d.artifact is not None
    assert not d.config


def test_diff_shows_threshold_change_and_metric_deltas(applied: Store, model_file: Path) -> None:
    a = register_version(
        applied, "router", actor="a", artifact=model_file, metrics={"accuracy": 0.80}
    ).version
    b = register_version(
        applied,
        "router",
        actor="a",
        artifact=model_file,
        config={"threshold": 0.68},
        metrics={"accuracy": 0.83, "macro_f1": 0.8},
        params={"C": 5.0, "features": {"ngrams": 2}},
    ).version
    d = diff_versions(a, b)
    assert [(c.key, c.before, c.after) for c in d.params] == [
        ("C", None, 5.0),
        ("features.ngrams", None, 2),
    ]
    assert [(c.key, c.before, c.after) for c in d.config] == [("decision.threshold", 0.75, 0.68)]
    deltas = {m.name: m.delta for m in d.metrics}
    assert deltas["accuracy"] == pytest.approx(0.03)
    assert deltas["macro_f1"] is None
    assert d.artifact is None
