"""Evaluate a version on its service's suite, optionally against a baseline, and store the run.

``run_eval(store, "support-router@2", baseline="1")`` loads the version's model and decision
settings, the suite's datasets, predicts in batches (a model raising on some cases: those
are errors, the run goes on), measures robustness, probes, consistency and latency, judges the
gates and stores an :class:`~liveops.core.records.EvalRunRecord` with its cases.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from liveops.core.evaluation.evidence import (
    BootstrapDraws,
    RunData,
    builtin_metrics,
    confusion,
    evidence_from,
    failure_groups,
    reliability,
    scope_metrics,
)
from liveops.core.evaluation.gates import Gate, GateVerdict, exit_code
from liveops.core.evaluation.metrics import Outcomes, per_class_table
from liveops.core.evaluation.suite import Suite, parse_suite
from liveops.core.evaluation.summary import EvalSummary
from liveops.core.project import ServiceSpec
from liveops.core.records import EvalCaseRecord, EvalRunRecord, VersionRecord
from liveops.core.yamltext import parse_yaml
from liveops.errors import InvalidInputError, ObjectNotFound
from liveops.services.evaluation import checks as eval_checks
from liveops.services.evaluation.cases import (
    Cases,
    check_columns,
    load_cases,
    scopes,
    with_regression,
)
from liveops.services.evaluation.checks import Judge, Progress
from liveops.services.evaluation.predict import Answers, decisions, latencies, predict
from liveops.services.evaluation.reference import reference_for, resolve_slice_by
from liveops.services.registry import get_service_spec, resolve_version
from liveops.store import Store

__all__ = ["EvalResult", "Progress", "get_run", "list_runs", "load_suite", "run_eval"]

SCALAR = ("accuracy", "macro_f1", "log_loss", "ece", "coverage", "selective_accuracy")


@dataclass(frozen=True)
class EvalResult:
    run: EvalRunRecord
    verdicts: list[GateVerdict]

    @property
    def summary(self) -> EvalSummary:
        return self.run.summary


def load_suite(spec: ServiceSpec, project_dir: Path) -> tuple[Suite, Path]:
    """The suite the service declares (``suite:`` in liveops.yaml), parsed strictly."""
    if not spec.suite:
        raise InvalidInputError(
            f"service {spec.name} declares no evaluation suite",
            hint="add suite: suites/NAME.yaml to the service in liveops.yaml",
        )
    path = (project_dir / spec.suite).resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(
            f"the suite file {path} of service {spec.name} does not exist",
            hint=f"create it or fix suite: in liveops.yaml (it is read relative to {project_dir})",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read the suite file {path}: {exc}") from None
    return parse_suite(text, str(path)), path


def _outcomes(
    labels: tuple[str, ...], expected: Sequence[str], ans: Answers, auto: list[str]
) -> Outcomes:
    # The candidate is refused when the cases expect a label it does not know (see run_eval);
    # a baseline may be an older model without a label the candidate adds: it can never answer
    # those cases, so they count as wrong (a comparison a user wants to see, not an error).
    labels = labels + tuple(sorted(set(expected) - set(labels)))
    index = {c: i for i, c in enumerate(labels)}
    return Outcomes(
        labels=labels,
        y_true=np.array([index[e] for e in expected], dtype=np.int64),
        y_pred=np.array(
            [
                -1 if (e is not None or p is None) else index.get(p, -1)
                for p, e in zip(ans.labels, ans.errors, strict=True)
            ],
            dtype=np.int64,
        ),
        confidence=ans.confidence(),
        p_true=ans.score_of(expected),
        automatic=np.array([d == "automatic" for d in auto], dtype=bool),
    )


def run_eval(
    store: Store,
    ref: str,
    *,
    baseline: str | None = None,
    actor: str,
    project_dir: Path,
    suite: Suite | None = None,
    progress: Progress | None = None,
    seed: int = 0,
    resamples: int = 1000,
) -> EvalResult:
    """Evaluate version ``ref`` (``svc@N`` or ``svc@alias``) and store the run."""
    tell: Progress = progress or (lambda stage, done, total: None)
    version = resolve_version(store, ref)
    spec = get_service_spec(store, version.service)
    suite_path: Path | None = None
    if suite is None:
        suite, suite_path = load_suite(spec, project_dir)
    elif problems := suite.gate_problems():  # a suite built in Python: parse_suite checks files
        i, fld, message = problems[0]
        raise InvalidInputError(f"gates.{i}.{fld}: {message}", hint="fix the suite's gates")
    base_version, base_reason = _baseline(store, version, baseline)

    text_field = suite.cases.text_field
    cases = load_cases(store, suite.cases.dataset, suite.cases.expected, text_field, "the cases")
    reference = reference_for(store, version, spec, cases.dataset_ref)
    suite_hash = suite.suite_hash()  # of the suite as written, before slice_by adds slices
    suite, slice_by = resolve_slice_by(store, suite, version.service, reference)
    check_columns(suite, cases)
    must = None
    if suite.cases.must_pass is not None:
        mp = suite.cases.must_pass
        must = load_cases(
            store, mp.dataset, mp.expected or suite.cases.expected, text_field, "the must-pass"
        )
    must = with_regression(store, version.service, suite, must)
    if must is None:
        _refuse_must_pass_gates(suite, suite_path, version.service)

    tell("loading the model", 0, 1)
    judge = Judge(store, version, spec, project_dir)
    unknown = sorted(
        {e for e in cases.expected + (must.expected if must else [])} - set(judge.labels)
    )
    if unknown:
        raise InvalidInputError(
            f"the cases expect labels {version.ref} does not know: {', '.join(unknown)} "
            f"(its labels: {', '.join(judge.labels)})",
            hint=f"fix the {suite.cases.expected!r} column of the dataset, or evaluate a model "
            "trained on these labels",
        )
    for probe in suite.probes:
        if probe.expect.label is not None and probe.expect.label not in judge.labels:
            raise InvalidInputError(
                f"probe {probe.name!r} expects label {probe.expect.label!r}, which {version.ref} "
                f"does not know (its labels: {', '.join(judge.labels)}), so it could never hold",
                hint="fix expect.label of the probe in the suite file",
            )
    base_judge = Judge(store, base_version, spec, project_dir) if base_version else None
    tell("loading the model", 1, 1)

    where = scopes(suite, cases)
    baseline_needs = {g.metric for g in suite.gates if g.uses_baseline}
    ref_profile = reference.profile
    cand, cand_cases, extras = _answer_all(
        suite, judge, cases, must, where, tell, everything=True, reference=ref_profile
    )
    base = None
    if base_judge is not None:
        base, _, _ = _answer_all(
            suite,
            base_judge,
            cases,
            must,
            where,
            tell,
            everything=False,
            needs=baseline_needs,
            reference=ref_profile,
        )

    tell("statistics", 0, 1)
    metrics = [m for m in SCALAR if m in suite.metrics]
    gated_classes = sorted({g.metric for g in suite.gates if g.metric.startswith("per_class.")})
    draws = BootstrapDraws(seed, resamples)
    table = scope_metrics(cand, base, [*metrics, *gated_classes], draws=draws)
    builtins = builtin_metrics(cand, base, draws=draws)
    evidence = evidence_from(
        table,
        builtins,
        baseline=base_version.ref if base_version else None,
        baseline_reason=base_reason,
    )
    verdicts = [Gate(g).evaluate(evidence) for g in suite.gates]
    code = exit_code(verdicts)
    tell("statistics", 1, 1)

    o = cand.outcomes
    found: dict[str, Any] = {
        "service": version.service,
        "version": version.ref,
        "baseline": base_version.ref if base_version else None,
        "baseline_reason": base_reason,
        "suite": str(suite_path) if suite_path else None,
        "suite_hash": suite_hash,
        "dataset": cases.dataset_ref,
        "cases": len(o),
        "errors": int(o.errors.sum()),
        "exit_code": code,
        "gates": [v.to_dict() for v in verdicts],
        "metrics": table,
        "builtins": builtins,
        "per_class": per_class_table(o),
        "confusion": confusion(o),
        "reliability": reliability(o),
        "failures": failure_groups(o, cases.ids, cases.examples(), where),
        "text_field": cases.text_field,
        "reference": reference.to_dict(),
        **({"slice_by": slice_by} if slice_by else {}),
        **extras,
    }
    summary = EvalSummary.from_dict(_plain(found))
    run = EvalRunRecord(
        id=secrets.token_hex(4),
        service=version.service,
        version=version.number,
        baseline_version=base_version.number if base_version else None,
        suite_hash=summary.suite_hash,
        created_at=store.clock.now(),
        actor=actor,
        summary=summary,
        exit_code=code,
    )
    with store.write() as conn:
        store.evaluation.insert_run(conn, run, cand_cases)
        store.audit.append(
            conn,
            actor=actor,
            action="eval.run",
            object_type="version",
            object_id=version.ref,
            data={
                "run": run.id,
                "baseline": summary.baseline,
                "suite_hash": run.suite_hash,
                "exit_code": code,
                "verdicts": {v.gate: v.verdict for v in verdicts},
            },
        )
    return EvalResult(run, verdicts)


def _refuse_must_pass_gates(suite: Suite, path: Path | None, service: str) -> None:
    """A must_pass gate with no must-pass cases at all (no ``must_pass`` block in the suite and
    nothing promoted from review) could never be judged: refuse before predicting anything."""
    for i, g in enumerate(suite.gates):
        if g.metric != "must_pass":
            continue
        message = (
            f"gate {g.label()!r}: there are no must-pass cases to measure must_pass (the suite "
            f"has no cases.must_pass and {service} has no promoted regression cases)"
        )
        hint = "add cases: {must_pass: {dataset: NAME}} to the suite, or remove the gate"
        if path is None:
            raise InvalidInputError(f"gates.{i}.metric: {message}", hint=hint)
        raise parse_yaml(path.read_text(encoding="utf-8"), str(path)).error(
            ("gates", i, "metric"), message, hint=hint
        )


def _baseline(
    store: Store, version: VersionRecord, baseline: str | None
) -> tuple[VersionRecord | None, str | None]:
    if baseline is not None:
        found = resolve_version(store, baseline, default_service=version.service)
        if found.service != version.service:
            raise InvalidInputError(
                f"baseline {found.ref} is a version of another service than {version.ref}"
            )
        return found, None
    number = store.registry.get_alias(version.service, "production")
    if number is None:
        return None, f"no --baseline given and {version.service} has no production alias"
    if number == version.number:
        return None, f"{version.ref} is production itself; pass --baseline to compare"
    return resolve_version(store, f"{version.service}@{number}"), None


def _answer_all(
    suite: Suite,
    judge: Judge,
    cases: Cases,
    must: Cases | None,
    scopes: Mapping[str, np.ndarray[Any, Any]],
    tell: Progress,
    *,
    everything: bool,
    needs: set[str] | None = None,
    reference: Mapping[str, Any] | None = None,
) -> tuple[RunData, list[EvalCaseRecord], dict[str, Any]]:
    """Ask ``judge`` everything the suite asks (a baseline only what its gates compare)."""
    need = needs or set()

    def wanted(*names: str) -> bool:
        return everything or any(n in need for n in names)

    ref = judge.version.ref
    text_field = cases.text_field
    n = len(cases.records)
    done = [0]

    def ticker(stage: str, total: int) -> Callable[[int], None]:
        done[0] = 0

        def tick(k: int) -> None:
            done[0] += k
            tell(stage, done[0], total)

        return tick

    ans = predict(judge.model, cases.records, tick=ticker(f"{ref}: cases", n), cost=judge.cost)
    auto = decisions(ans, cases.records, judge.settings, rules=judge.rules, text_field=text_field)
    outcomes = _outcomes(judge.labels, cases.expected, ans, auto)
    per_item: dict[str, np.ndarray[Any, Any]] = {"cost.per_1k": ans.cost * 1000.0}
    extras: dict[str, Any] = {}
    records: list[EvalCaseRecord] = []
    groups: list[list[str]] = [[] for _ in range(n)]
    for scope, idx in scopes.items():
        if scope != "overall":
            for i in idx.tolist():
                groups[i].append(scope)
    if everything:
        conf = ans.confidence()
        for i, rec in enumerate(cases.records):
            records.append(
                EvalCaseRecord(
                    case_id=cases.ids[i],
                    source="eval",
                    inputs={k: v for k, v in rec.items() if k != suite.cases.expected},
                    expected=cases.expected[i],
                    predicted=ans.labels[i],
                    confidence=None if not np.isfinite(conf[i]) else float(conf[i]),
                    decision=auto[i],
                    correct=bool(outcomes.correct[i]),
                    error=ans.errors[i],
                    groups=tuple(groups[i]),
                )
            )
    if must is not None and wanted("must_pass"):
        holds, mp_records, mp_summary = eval_checks.must_pass(suite, judge, must, tell)
        per_item["must_pass"] = holds
        records += mp_records
        extras["must_pass"] = mp_summary
    if suite.probes and wanted("probes"):
        holds, pr_records, pr_summary = eval_checks.probes(suite, judge, text_field)
        per_item["probes"] = holds
        records += pr_records
        extras["probes"] = pr_summary
    if suite.robustness is not None and wanted("robustness.invariance", "robustness.accuracy"):
        inv, acc, rob_summary = eval_checks.robustness(suite, judge, cases, ans, tell, reference)
        per_item["robustness.invariance"] = inv
        per_item["robustness.accuracy"] = acc
        extras["robustness"] = rob_summary
    if suite.consistency is not None and wanted("consistency"):
        agree, cons_summary = eval_checks.consistency(suite, judge, cases, tell)
        per_item["consistency"] = agree
        extras["consistency"] = cons_summary
    lat = None
    if wanted("latency.p50_ms", "latency.p95_ms", "latency.p99_ms"):
        tell(f"{ref}: latency", 0, suite.latency_calls)
        lat = latencies(judge.model, cases.records, suite.latency_calls)
        tell(f"{ref}: latency", suite.latency_calls, suite.latency_calls)
        extras["latency_ms"] = [round(float(x), 4) for x in lat]
    return RunData(outcomes, scopes, per_item, lat), records, extras


def _plain(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def get_run(store: Store, run_id: str) -> EvalRunRecord:
    """A stored run by its id (or a unique prefix of it)."""
    run = store.evaluation.get_run(run_id)
    if run is None:
        raise ObjectNotFound(
            f"no evaluation run {run_id!r}",
            hint="list runs with `liveops runs list`",
        )
    return run


def list_runs(store: Store, service: str | None = None, limit: int = 50) -> list[EvalRunRecord]:
    """Stored runs, newest first."""
    if service is not None and "@" in service:
        version = resolve_version(store, service)
        return store.evaluation.list_runs(version.service, version.number, limit=limit)
    if service is not None:
        get_service_spec(store, service)
    return store.evaluation.list_runs(service, limit=limit)
