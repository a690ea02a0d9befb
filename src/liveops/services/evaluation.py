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

from liveops.core.decision import DecisionSettings, RulesFunction
from liveops.core.evaluation import (
    RunData,
    builtin_metrics,
    confusion,
    evidence_from,
    failure_groups,
    reliability,
    scope_metrics,
)
from liveops.core.gates import Gate, GateVerdict, exit_code
from liveops.core.metrics import Outcomes, per_class_table
from liveops.core.model import Model
from liveops.core.perturb import perturb_all
from liveops.core.project import ServiceSpec
from liveops.core.records import EvalCaseRecord, EvalRunRecord, VersionRecord
from liveops.core.suite import TEXT_LENGTH, Suite, parse_suite
from liveops.errors import InvalidInputError, ObjectNotFound
from liveops.services.datasets import load_records, resolve_dataset
from liveops.services.eval_predict import Answers, decisions, latencies, predict
from liveops.services.models import load_callable, load_model
from liveops.services.project import get_service_spec
from liveops.services.registry import resolve_version
from liveops.store import Store

__all__ = ["EvalResult", "Progress", "get_run", "list_runs", "load_suite", "run_eval"]

Progress = Callable[[str, int, int], None]  # (stage, done, total)
SCALAR = ("accuracy", "macro_f1", "log_loss", "ece", "coverage", "selective_accuracy")


@dataclass(frozen=True)
class EvalResult:
    run: EvalRunRecord
    verdicts: list[GateVerdict]

    @property
    def summary(self) -> dict[str, Any]:
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


@dataclass
class _Cases:
    dataset_ref: str
    records: list[dict[str, Any]]
    expected: list[str]
    ids: list[str]


def _load_cases(store: Store, ref: str, expected_col: str, text_field: str, what: str) -> _Cases:
    ds = resolve_dataset(store, ref)
    records = load_records(store, ds)
    if not records:
        raise InvalidInputError(f"{what} dataset {ds.ref} has no rows", hint="add cases to it")
    columns = set(records[0])
    for col, role in ((expected_col, "expected label"), (text_field, "text field")):
        if col not in columns:
            raise InvalidInputError(
                f"{what} dataset {ds.ref} has no column {col!r} (the suite's {role}); "
                f"columns: {', '.join(sorted(columns))}",
                hint="fix the suite file or the dataset",
            )
    missing = [i for i, r in enumerate(records) if r.get(expected_col) is None]
    if missing:
        raise InvalidInputError(
            f"{what} dataset {ds.ref}: row {missing[0]} has no {expected_col!r}",
            hint="every case needs an expected label",
        )
    ids = [
        str(r["id"]) if r.get("id") is not None else f"{ds.ref}#{i}" for i, r in enumerate(records)
    ]
    return _Cases(ds.ref, records, [str(r[expected_col]) for r in records], ids)


def _with_regression(
    store: Store, service: str, suite: Suite, must: _Cases | None
) -> _Cases | None:
    """Cases promoted from human review (the service's managed regression dataset, latest
    version) run as more must-pass cases; the suite file is never rewritten."""
    from liveops.services.regression import latest_regression

    ds = latest_regression(store, service)
    if ds is None:
        return must
    reg = _load_cases(store, ds.ref, suite.cases.expected, suite.cases.text_field, "the regression")
    if must is None:
        return reg
    return _Cases(
        f"{must.dataset_ref} + {reg.dataset_ref}",
        must.records + reg.records,
        must.expected + reg.expected,
        must.ids + reg.ids,
    )


def _check_columns(suite: Suite, cases: _Cases) -> None:
    columns = set(cases.records[0])
    for kind, items in (("slice", suite.slices), ("scenario", suite.cases.scenarios)):
        for item in items:
            for col in item.where.columns():
                if col != TEXT_LENGTH and col not in columns:
                    have = ", ".join(sorted(columns))
                    raise InvalidInputError(
                        f"{kind} {item.name!r} names column {col!r}, which dataset "
                        f"{cases.dataset_ref} does not have (columns: {have})",
                        hint=f"fix the {kind} in the suite file",
                    )


def _scopes(suite: Suite, cases: _Cases) -> dict[str, np.ndarray[Any, Any]]:
    field = suite.cases.text_field
    lengths = [
        len(r.get(field) or "") if isinstance(r.get(field), str) else 0 for r in cases.records
    ]
    scopes: dict[str, np.ndarray[Any, Any]] = {"overall": np.arange(len(cases.records))}
    for kind, items in (("slice", suite.slices), ("scenario", suite.cases.scenarios)):
        for item in items:
            idx = [i for i, r in enumerate(cases.records) if item.where.matches(r, lengths[i])]
            scopes[f"{kind}:{item.name}"] = np.asarray(idx, dtype=np.int64)
    return scopes


class _Judge:
    """One version's model with its decision settings, answering the suite."""

    def __init__(
        self, store: Store, version: VersionRecord, spec: ServiceSpec, project_dir: Path
    ) -> None:
        self.version = version
        self.model: Model = load_model(store, version, project_dir=project_dir)
        self.settings = DecisionSettings.from_config(version.config.get("decision"))
        self.rules: RulesFunction | None = None
        if self.settings.rules:
            self.rules = load_callable(self.settings.rules, search_path=project_dir)
        self.labels = tuple(self.model.classes) or tuple(spec.output.labels)


def _outcomes(
    labels: tuple[str, ...], expected: Sequence[str], ans: Answers, auto: list[str]
) -> Outcomes:
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
    base_version, base_reason = _baseline(store, version, baseline)

    text_field = suite.cases.text_field
    cases = _load_cases(store, suite.cases.dataset, suite.cases.expected, text_field, "the cases")
    _check_columns(suite, cases)
    must = None
    if suite.cases.must_pass is not None:
        mp = suite.cases.must_pass
        must = _load_cases(
            store, mp.dataset, mp.expected or suite.cases.expected, text_field, "the must-pass"
        )
    must = _with_regression(store, version.service, suite, must)

    tell("loading the model", 0, 1)
    judge = _Judge(store, version, spec, project_dir)
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
    base_judge = _Judge(store, base_version, spec, project_dir) if base_version else None
    tell("loading the model", 1, 1)

    scopes = _scopes(suite, cases)
    baseline_needs = {g.metric for g in suite.gates if g.uses_baseline}
    cand, cand_cases, extras = _answer_all(suite, judge, cases, must, scopes, tell, everything=True)
    base = None
    if base_judge is not None:
        base, _, _ = _answer_all(
            suite, base_judge, cases, must, scopes, tell, everything=False, needs=baseline_needs
        )

    tell("statistics", 0, 1)
    metrics = [m for m in SCALAR if m in suite.metrics]
    gated_classes = sorted({g.metric for g in suite.gates if g.metric.startswith("per_class.")})
    table = scope_metrics(cand, base, [*metrics, *gated_classes], seed=seed, resamples=resamples)
    builtins = builtin_metrics(cand, base, seed=seed, resamples=resamples)
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
    summary: dict[str, Any] = {
        "service": version.service,
        "version": version.ref,
        "baseline": base_version.ref if base_version else None,
        "baseline_reason": base_reason,
        "suite": str(suite_path) if suite_path else None,
        "suite_hash": suite.suite_hash(),
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
        "failures": failure_groups(
            o, cases.ids, [str(r.get(text_field, "")) for r in cases.records], scopes
        ),
        **extras,
    }
    run = EvalRunRecord(
        id=secrets.token_hex(4),
        service=version.service,
        version=version.number,
        baseline_version=base_version.number if base_version else None,
        suite_hash=summary["suite_hash"],
        created_at=store.clock.now(),
        actor=actor,
        summary=_plain(summary),
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
                "baseline": summary["baseline"],
                "suite_hash": run.suite_hash,
                "exit_code": code,
                "verdicts": {v.gate: v.verdict for v in verdicts},
            },
        )
    return EvalResult(run, verdicts)


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
    judge: _Judge,
    cases: _Cases,
    must: _Cases | None,
    scopes: Mapping[str, np.ndarray[Any, Any]],
    tell: Progress,
    *,
    everything: bool,
    needs: set[str] | None = None,
) -> tuple[RunData, list[EvalCaseRecord], dict[str, Any]]:
    """Ask ``judge`` everything the suite asks (a baseline only what its gates compare)."""
    need = needs or set()

    def wanted(*names: str) -> bool:
        return everything or any(n in need for n in names)

    ref = judge.version.ref
    text_field = suite.cases.text_field
    n = len(cases.records)
    done = [0]

    def ticker(stage: str, total: int) -> Callable[[int], None]:
        done[0] = 0

        def tick(k: int) -> None:
            done[0] += k
            tell(stage, done[0], total)

        return tick

    ans = predict(judge.model, cases.records, tick=ticker(f"{ref}: cases", n))
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
        holds, mp_records, mp_summary = _must_pass(suite, judge, must, tell)
        per_item["must_pass"] = holds
        records += mp_records
        extras["must_pass"] = mp_summary
    if suite.probes and wanted("probes"):
        holds, pr_records, pr_summary = _probes(suite, judge)
        per_item["probes"] = holds
        records += pr_records
        extras["probes"] = pr_summary
    if suite.robustness is not None and wanted("robustness.invariance", "robustness.accuracy"):
        inv, acc, rob_summary = _robustness(suite, judge, cases, ans, tell)
        per_item["robustness.invariance"] = inv
        per_item["robustness.accuracy"] = acc
        extras["robustness"] = rob_summary
    if suite.consistency is not None and wanted("consistency"):
        agree, cons_summary = _consistency(suite, judge, cases, tell)
        per_item["consistency"] = agree
        extras["consistency"] = cons_summary
    lat = None
    if wanted("latency.p50_ms", "latency.p95_ms", "latency.p99_ms"):
        tell(f"{ref}: latency", 0, suite.latency_calls)
        lat = latencies(judge.model, cases.records, suite.latency_calls)
        tell(f"{ref}: latency", suite.latency_calls, suite.latency_calls)
        extras["latency_ms"] = [round(float(x), 4) for x in lat]
    return RunData(outcomes, scopes, per_item, lat), records, extras


def _must_pass(
    suite: Suite, judge: _Judge, must: _Cases, tell: Progress
) -> tuple[np.ndarray[Any, Any], list[EvalCaseRecord], dict[str, Any]]:
    text_field = suite.cases.text_field
    # Without a must_pass block the cases come from the review regression dataset only.
    dcol = suite.cases.must_pass.decision if suite.cases.must_pass else "decision"
    ans = predict(judge.model, must.records)
    auto = decisions(ans, must.records, judge.settings, rules=judge.rules, text_field=text_field)
    conf = ans.confidence()
    holds = np.zeros(len(must.records))
    records: list[EvalCaseRecord] = []
    failed: list[dict[str, Any]] = []
    for i, rec in enumerate(must.records):
        want_decision = str(rec.get(dcol) or "automatic")
        ok = (
            ans.labels[i] == must.expected[i] and auto[i] == want_decision and ans.errors[i] is None
        )
        holds[i] = float(ok)
        c = None if not np.isfinite(conf[i]) else float(conf[i])
        records.append(
            EvalCaseRecord(
                case_id=must.ids[i],
                source="must_pass",
                inputs={k: v for k, v in rec.items()},
                expected=must.expected[i],
                predicted=ans.labels[i],
                confidence=c,
                decision=auto[i],
                correct=ok,
                error=ans.errors[i],
            )
        )
        if not ok:
            failed.append(
                {
                    "case": must.ids[i],
                    "text": str(rec.get(text_field, "")),
                    "expected": must.expected[i],
                    "expected_decision": want_decision,
                    "predicted": ans.labels[i],
                    "decision": auto[i],
                    "confidence": c,
                    "error": ans.errors[i],
                }
            )
    tell(f"{judge.version.ref}: must-pass", len(must.records), len(must.records))
    summary = {
        "dataset": must.dataset_ref,
        "cases": len(holds),
        "held": int(holds.sum()),
        "failed": failed,
    }
    return holds, records, summary


def _probes(
    suite: Suite, judge: _Judge
) -> tuple[np.ndarray[Any, Any], list[EvalCaseRecord], list[dict[str, Any]]]:
    inputs = [dict(p.inputs) for p in suite.probes]
    ans = predict(judge.model, inputs)
    auto = decisions(
        ans, inputs, judge.settings, rules=judge.rules, text_field=suite.cases.text_field
    )
    holds = np.zeros(len(inputs))
    records: list[EvalCaseRecord] = []
    out: list[dict[str, Any]] = []
    for i, probe in enumerate(suite.probes):
        exp = probe.expect
        label_ok = exp.label is None or ans.labels[i] == exp.label
        decision_ok = not exp.decision or auto[i] in exp.decision
        ok = label_ok and decision_ok and ans.errors[i] is None
        holds[i] = float(ok)
        expected = exp.label or "decision in " + "|".join(exp.decision or [])
        records.append(
            EvalCaseRecord(
                case_id=f"probe:{probe.name}",
                source="probe",
                inputs=dict(probe.inputs),
                expected=exp.label,
                predicted=ans.labels[i],
                confidence=None,
                decision=auto[i],
                correct=ok,
                error=ans.errors[i],
            )
        )
        out.append(
            {
                "name": probe.name,
                "holds": ok,
                "expected": expected,
                "label": ans.labels[i],
                "decision": auto[i],
                "error": ans.errors[i],
            }
        )
    return holds, records, out


def _robustness(
    suite: Suite, judge: _Judge, cases: _Cases, ans: Answers, tell: Progress
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], dict[str, Any]]:
    rob = suite.robustness
    assert rob is not None
    ref = judge.version.ref
    optional = rob.optional_fields
    if optional is None:
        model_inputs = set(judge.version.config.get("model_inputs") or [suite.cases.text_field])
        optional = [
            c
            for c in cases.records[0]
            if c not in model_inputs and c != suite.cases.expected and c != suite.cases.text_field
        ]
    tell(f"{ref}: perturbing", 0, 1)
    copies = perturb_all(
        cases.records,
        rob.perturbations,
        rob.seed,
        text_field=suite.cases.text_field,
        optional_fields=optional,
    )
    original = np.array(ans.labels, dtype=object)
    expected = np.array(cases.expected, dtype=object)
    answered = np.array([e is None for e in ans.errors])
    used = list(judge.version.config.get("model_inputs") or [suite.cases.text_field])
    inv_sum = np.zeros(len(cases.records))
    acc_sum = np.zeros(len(cases.records))
    families: dict[str, dict[str, float]] = {}
    total = len(rob.perturbations)
    for k, family in enumerate(rob.perturbations):
        tell(f"{ref}: robustness", k, total)
        labels, ok = _perturbed_labels(judge, cases.records, copies[family], ans, used)
        inv = (labels == original) & ok & answered
        acc = (labels == expected) & ok & answered
        inv_sum += inv
        acc_sum += acc
        families[family] = {"invariance": float(inv.mean()), "accuracy": float(acc.mean())}
    tell(f"{ref}: robustness", total, total)
    # One value per case (the share of its perturbed copies that held): cases, not copies,
    # are what the bootstrap resamples.
    inv_all = inv_sum / total
    acc_all = acc_sum / total
    summary = {
        "seed": rob.seed,
        "invariance": float(inv_all.mean()),
        "accuracy": float(acc_all.mean()),
        "families": families,
        "predictions": int(total * len(cases.records)),
    }
    return inv_all, acc_all, summary


def _perturbed_labels(
    judge: _Judge,
    originals: Sequence[Mapping[str, Any]],
    copies: Sequence[Mapping[str, Any]],
    ans: Answers,
    model_inputs: Sequence[str],
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Labels of the perturbed copies; a copy whose model inputs did not change keeps the
    original answer (the model sees the same thing), so only changed copies are predicted."""
    labels = np.array(ans.labels, dtype=object)
    ok = np.array([e is None for e in ans.errors])
    changed = [
        i
        for i, (a, b) in enumerate(zip(originals, copies, strict=True))
        if any(a.get(f) != b.get(f) for f in model_inputs)
    ]
    if changed:
        got = predict(judge.model, [copies[i] for i in changed])
        idx = np.asarray(changed, dtype=np.int64)
        labels[idx] = np.array(got.labels, dtype=object)
        ok[idx] = np.array([e is None for e in got.errors])
    return labels, ok


def _consistency(
    suite: Suite, judge: _Judge, cases: _Cases, tell: Progress
) -> tuple[np.ndarray[Any, Any], dict[str, Any]]:
    spec = suite.consistency
    assert spec is not None
    n = min(spec.cases, len(cases.records))
    rng = np.random.default_rng(spec.cases)
    idx = np.sort(rng.choice(len(cases.records), size=n, replace=False))
    sample = [cases.records[i] for i in idx.tolist()]
    runs = [predict(judge.model, sample).labels for _ in range(spec.repeats)]
    agree = np.zeros(n)
    for i in range(n):
        answers = [r[i] for r in runs]
        top = max(set(answers), key=answers.count)
        agree[i] = answers.count(top) / len(answers)
    tell(f"{judge.version.ref}: consistency", n, n)
    return agree, {"cases": n, "repeats": spec.repeats, "agreement": float(agree.mean())}


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
