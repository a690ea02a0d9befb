"""Labels and features at the command line: a 0/1 model for benign/malignant, a label map."""

from __future__ import annotations

from pathlib import Path

from tests.cli_runner import Runner
from tests.services.tabular import cancer_model, tabular_yaml


def test_register_refuses_a_0_1_model_then_takes_a_label_map(
    run_cli: Runner, tmp_path: Path
) -> None:
    (tmp_path / "liveops.yaml").write_text(tabular_yaml())
    assert run_cli("service", "apply").code == 0
    model = cancer_model(tmp_path / "cancer.skops")
    r = run_cli("register", "tumours", "--artifact", str(model))
    assert r.code == 4, r.out + r.err
    said = " ".join((r.out + r.err).split())
    assert "classes are 0, 1" in said
    assert "labels are benign, malignant" in said
    assert "output.label_map=" in said  # the next step, ready to paste
    r = run_cli(
        "register",
        "tumours",
        "--artifact",
        str(model),
        "--config",
        'output.label_map={"0": "malignant", "1": "benign"}',
        "--json",
    )
    assert r.code == 0, r.err
    v = r.json()
    assert v["config"]["output.label_map"] == {"0": "malignant", "1": "benign"}
    # the YAML form is the same map, hence the same version
    r = run_cli(
        "register",
        "tumours",
        "--artifact",
        str(model),
        "--config",
        "output.label_map={0: malignant, 1: benign}",
    )
    assert r.code == 0
    assert "already registered" in r.out
    assert run_cli("alias", "set", "tumours", "production", "1").code == 0
    (tmp_path / "liveops.yaml").write_text(
        tabular_yaml().replace("[benign, malignant]", "[benign, cancer]")
    )
    assert run_cli("service", "apply").code == 0
    r = run_cli("alias", "set", "tumours", "candidate", "1")
    said = " ".join((r.out + r.err).split())
    assert r.code == 4
    assert "malignant" in said
    assert "benign, cancer" in said


def test_a_model_without_feature_names_warns_once_at_registration(
    run_cli: Runner, tmp_path: Path
) -> None:
    (tmp_path / "liveops.yaml").write_text(tabular_yaml())
    assert run_cli("service", "apply").code == 0
    model = cancer_model(tmp_path / "bare.skops", names=False)
    r = run_cli(
        "register", "tumours", "-a", str(model), "-c", "output.label_map={0: malignant, 1: benign}"
    )
    assert r.code == 0, r.err
    said = " ".join((r.out + r.err).split())
    assert said.count("fitted without feature names") == 1
