"""liveops.yaml parsing: the shipped example loads, and every error names the line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveops.core.project import parse_project
from liveops.errors import ProjectFileError

# The worked example project the docs point at ships with liveops (no file outside the repo).
SHIPPED = Path(__file__).resolve().parents[2] / "src" / "liveops" / "demo" / "liveops.yaml"

GOOD = """services:
  - name: svc
    owner: me@example.com
    inputs:
      text: {type: string, required: true}
    output: {labels: [a, b]}
"""


def test_the_example_project_loads() -> None:
    path = SHIPPED
    project = parse_project(path.read_text(), str(path))
    svc = project.services[0]
    assert svc.name == "support-router"
    assert svc.model_inputs == ["text"]
    assert svc.decision_settings().threshold == 0.70
    assert svc.inputs["channel"].values == ["email", "chat", "phone", "web"]
    # Its alert rules validate and every receiver they name is declared.
    rules = {r.name: r for r in svc.alert_rules()}
    assert {"spanish quality", "input drift"} <= set(rules)
    assert rules["spanish quality"].slice == "spanish"
    # A day of labels: they arrive 1 hour to 2 days late, so an hour's window holds none.
    assert rules["spanish quality"].window_s == rules["spanish quality"].for_s == 86400
    assert rules["spanish quality"].min_count == 100
    assert {n for r in rules.values() for n in r.receivers} <= set(project.receivers or {})


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ("services:\n  - name: svc\n    owner: [unclosed\n", 4, None, "not valid YAML"),
        (GOOD.replace("owner", "ownr"), 3, "services.0.ownr", "unknown field"),
        (GOOD.replace("    owner: me@example.com\n", ""), 2, "services.0.owner", "required"),
        (GOOD.replace("type: string", "type: strng"), 5, "services.0.inputs.text.type", "string"),
        (GOOD.replace("labels: [a, b]", "labels: [a, a]"), 6, "services.0.output.labels", "unique"),
        (GOOD + "    decision: {threshold: 2}\n", 7, "services.0.decision", "threshold"),
        (GOOD + "    decision: {below: abstain}\n", 7, "services.0.decision", "below"),
        (GOOD + "    model_inputs: [txt]\n", 2, "services.0", "txt"),
        (GOOD.replace("name: svc", "name: Bad Name"), 2, "services.0.name", "lower-case"),
        (GOOD + GOOD.replace("services:\n", ""), 7, "services.1.name", "declared twice"),
        ("", None, "(top level)", "empty"),
        ("- just a list\n", 1, "(top level)", "mapping"),
    ],
    ids=[
        "yaml-syntax",
        "typo",
        "missing",
        "bad-type",
        "dup-labels",
        "threshold",
        "decision-key",
        "model-inputs",
        "bad-name",
        "duplicate-service",
        "empty",
        "not-mapping",
    ],
)
def test_errors_name_the_line_and_the_field(
    text: str, line: int | None, field: str | None, words: str
) -> None:
    with pytest.raises(ProjectFileError) as info:
        parse_project(text, "liveops.yaml")
    err = info.value
    assert words in str(err)
    if line is not None:
        assert f"liveops.yaml:{line}" in err.message
        assert err.details["line"] == line
    if field is not None:
        assert err.details["field"] == field


def test_a_key_given_twice_is_refused_naming_both_lines() -> None:
    text = GOOD.replace("    inputs:", "    owner: other@example.com\n    inputs:")
    with pytest.raises(ProjectFileError) as info:
        parse_project(text, "liveops.yaml")
    err = info.value
    assert err.message.startswith("liveops.yaml:4: services.0.owner:")
    assert "'owner' appears twice" in err.message
    assert "first on line 3" in err.message
    assert err.details["line"] == 4


@pytest.mark.parametrize(
    ("inputs", "line", "field"),
    [
        ("    inputs: &a {text: *a}\n", 4, "services.0.inputs.text"),
        ("    inputs: &a\n      text:\n        - *a\n", 6, "services.0.inputs.text.0"),
    ],
    ids=["flow-mapping", "block-sequence"],
)
def test_a_recursive_alias_is_refused_naming_the_line(inputs: str, line: int, field: str) -> None:
    text = GOOD.replace("    inputs:\n      text: {type: string, required: true}\n", inputs)
    with pytest.raises(ProjectFileError) as info:
        parse_project(text, "liveops.yaml")
    err = info.value
    assert "recursive alias" in err.message
    assert "anchored on line 4" in err.message
    assert err.details["line"] == line
    assert err.details["field"] == field


def test_an_alias_used_twice_without_recursion_still_loads() -> None:
    text = GOOD.replace(
        "      text: {type: string, required: true}\n",
        "      text: &s {type: string, required: true}\n      note: *s\n",
    )
    assert sorted(parse_project(text).services[0].inputs) == ["note", "text"]


# --- the logging block -------------------------------------------------------------------

_LOGGED = """
services:
  - name: echo
    owner: me@example.com
    inputs: {text: {type: string, required: true}}
    output: {labels: [a, b]}
    logging:
      redact: ['CU-\\d{5}', {ticket: 'TK\\d{6}'}, 'ZZ\\d+']
      raw_inputs: true
      raw_retention_days: 3
      fsync_ms: 0
"""


def test_logging_block_is_parsed_and_patterns_compile() -> None:
    spec = parse_project(_LOGGED).services[0].logging_settings()
    assert (spec.raw_inputs, spec.raw_retention_days, spec.fsync_ms) == (True, 3, 0)
    patterns = spec.patterns()
    assert sorted(patterns) == ["redacted", "ticket"]
    assert patterns["redacted"].search("id ZZ12")
    assert patterns["redacted"].search("CU-12345")


def test_logging_defaults_stay_out_of_the_spec_hash() -> None:
    plain = parse_project(_LOGGED.split("    logging:")[0]).services[0]
    assert plain.logging is None
    assert "logging" not in plain.to_dict()
    assert plain.logging_settings().raw_inputs is False
    assert plain.logging_settings().fsync_ms == 200


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("{redact: ['(unclosed']}", "not a regular expression"),
        ("{redact: ['a*']}", "matches the empty string"),
        ("{redact: [{Bad Name: 'x'}]}", "pattern name"),
        ("{redact: [{a: 'x', b: 'y'}]}", "one 'name: pattern' pair"),
        ("{raw_retention_days: 0}", "greater than 0"),
        ("{fsync_ms: -1}", "greater than or equal to 0"),
        ("{raw_input: true}", "unknown field"),
    ],
)
def test_bad_logging_block_names_the_line(block: str, message: str) -> None:
    text = _LOGGED.split("    logging:")[0] + f"    logging: {block}\n"
    with pytest.raises(ProjectFileError) as err:
        parse_project(text, "liveops.yaml")
    assert message in str(err.value)
    assert "liveops.yaml:7" in str(err.value)


def test_model_runs_on_takes_auto_thread_or_loop() -> None:
    project_min = """
services:
  - name: router
    owner: a@example.com
    inputs: {text: {type: string}}
    output: {labels: [a, b]}
    serving: SERVING
"""
    base = project_min.replace("SERVING", "{model_runs_on: loop}")
    assert parse_project(base).services[0].serving.model_runs_on == "loop"
    with pytest.raises(ProjectFileError) as err:
        parse_project(project_min.replace("SERVING", "{model_runs_on: gpu}"))
    assert "model_runs_on" in err.value.message


def test_allow_new_labels_is_a_boolean_named_by_line_and_kept_out_of_the_hash() -> None:
    plain = parse_project(GOOD).services[0]
    assert plain.output.allow_new_labels is None
    assert "allow_new_labels" not in plain.to_dict()
    allowed = GOOD.replace("{labels: [a, b]}", "{labels: [a, b], allow_new_labels: true}")
    assert parse_project(allowed).services[0].output.allow_new_labels is True
    bad = GOOD.replace("{labels: [a, b]}", "{labels: [a, b], allow_new_labels: sometimes}")
    with pytest.raises(ProjectFileError) as err:
        parse_project(bad, "liveops.yaml")
    assert "liveops.yaml:6" in str(err.value)
    assert "valid boolean" in str(err.value)
    assert err.value.details["field"] == "services.0.output.allow_new_labels"
