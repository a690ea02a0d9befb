"""The metric catalogue: one namespace for suites, the monitor, rollout gates and alert rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveops.core import catalogue
from liveops.core.evaluation.gates import higher_is_better
from liveops.core.evaluation.suite import BUILTIN_GATE_METRICS, SUITE_METRICS, parse_suite
from liveops.errors import ProjectFileError, UsageError

SUITE = """cases: {{dataset: eval, expected: label}}
metrics: [accuracy, per_class]
gates: [{{metric: {metric}, min: 0.5, kind: blocker}}]
"""


def test_every_metric_a_suite_can_gate_on_is_in_the_catalogue_and_valid_offline() -> None:
    scalar = [m for m in SUITE_METRICS if m not in ("per_class", "latency", "cost")]
    for name in [*scalar, *BUILTIN_GATE_METRICS, "per_class.billing.f1"]:
        assert catalogue.check(name, "offline").valid("offline"), name


def test_parameters_are_read_from_the_name() -> None:
    found = catalogue.lookup("per_class.Ausländer Konto.recall")
    assert found is not None
    assert found.params == {"LABEL": "Ausländer Konto"}
    assert catalogue.lookup("fallback_rate.timeout") is not None
    assert catalogue.lookup("outcome.refunded.rate") is not None
    assert catalogue.lookup("per_class.billing.accuracy") is None
    assert catalogue.lookup("drift") is None


@pytest.mark.parametrize(
    ("name", "better"),
    [
        ("accuracy", True),
        ("latency.p99_ms", False),
        ("cost.per_1k", False),
        ("log_loss", False),
        ("ece", False),
        ("error_rate", False),
        ("drift.age", False),
        ("per_class.malignant.recall", True),
        ("estimated.accuracy", True),
    ],
)
def test_the_gates_direction_is_the_catalogues(name: str, better: bool) -> None:
    assert higher_is_better(name) is better


def test_a_live_only_metric_is_refused_in_a_suite_with_the_reason() -> None:
    with pytest.raises(ProjectFileError) as err:
        parse_suite(SUITE.format(metric="error_rate"), "suite.yaml")
    assert "live traffic only" in err.value.message
    assert str(err.value).startswith("suite.yaml:3: gates.0.metric")


def test_a_misspelt_gate_metric_gets_a_suggestion() -> None:
    with pytest.raises(ProjectFileError) as err:
        parse_suite(SUITE.format(metric="acuracy"), "suite.yaml")
    assert "did you mean 'accuracy'" in err.value.message


def test_an_offline_only_check_is_refused_live() -> None:
    with pytest.raises(UsageError) as err:
        catalogue.check("must_pass", "live")
    assert "suite's cases only" in err.value.message
    assert "error_rate" in (err.value.hint or "")


def test_every_pattern_is_unique_and_merges_in_a_known_way() -> None:
    patterns = [d.pattern for d in catalogue.CATALOGUE]
    assert len(patterns) == len(set(patterns))
    assert {d.merge for d in catalogue.CATALOGUE} <= {
        "ratio",
        "quantile",
        "sum",
        "distance",
        "none",
    }


def test_the_docs_list_every_name_of_the_catalogue() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
    for d in catalogue.CATALOGUE:
        windows = "yes" if d.windowed else "no"
        row = f"| `{d.pattern}` | {d.where} | {d.unit} | {d.merge} | {windows} |"
        assert row in doc, d.pattern
