"""The staging smoke test of a release: the suite's must-pass cases and a short load through a
gateway serving the release's version (``liveops serve --alias staging``).

It passes when every must-pass answer comes from the release's version and equals the answer
the evaluation recorded (label and decision), every answer reaches the prediction log (the
store is asked for the ids), and the p95 latency of the load, measured at the client, is under
the service's target: ``serving.p95_target_ms``, else the decision's ``timeout_ms``, else
:data:`DEFAULT_P95_TARGET_MS`. The fallback is asked too, in this process, on the same cases
(a gateway cannot be made to fail on purpose from outside): it passes when it answers each with
one of the service's labels (rules may decline a case; at least one answer is needed).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from liveops.core.project import ServiceSpec
from liveops.core.records import EvalCaseRecord, VersionRecord
from liveops.core.release import ChecklistItem
from liveops.core.serving.decision import DecisionSettings
from liveops.errors import ConflictError, LiveopsError
from liveops.services.registry import get_service_spec, resolve_version
from liveops.services.releases.checklist import current_run
from liveops.services.releases.drafts import ReleaseView, get_release, view_release
from liveops.services.serving import load_serving_version
from liveops.store import Store

__all__ = ["DEFAULT_P95_TARGET_MS", "p95_target", "smoke_release"]

DEFAULT_P95_TARGET_MS = 500.0
MAX_CASES = 200  # must-pass cases sent one by one; more is a load test, not a smoke test


def p95_target(spec: ServiceSpec, version: VersionRecord) -> tuple[float, str]:
    """The p95 latency target of the smoke test, and which setting it comes from."""
    serving = spec.serving_settings()
    if serving.p95_target_ms is not None:
        return float(serving.p95_target_ms), "serving.p95_target_ms"
    timeout = DecisionSettings.from_config(version.config.get("decision")).timeout_ms
    if timeout is not None:
        return float(timeout), "decision.timeout_ms"
    return DEFAULT_P95_TARGET_MS, "the default (no serving.p95_target_ms or timeout_ms)"


def smoke_release(
    store: Store,
    release_id: str,
    project_dir: Path,
    url: str,
    *,
    actor: str,
    requests: int = 200,
    concurrency: int = 4,
    log_wait_s: float = 30.0,
    timeout_s: float = 10.0,
    key: str | None = None,
) -> tuple[ReleaseView, dict[str, Any]]:
    """Run the smoke test against ``url``, record it as the ``staging_smoke`` item (and the
    fallback's answer), and return the release and the smoke's summary. ``key``: an API key
    with ``predict`` for a gateway that requires keys (docs/access.md)."""
    rel = get_release(store, release_id)
    if rel.decision is not None:
        raise ConflictError(f"release {rel.id} is decided ({rel.decision.kind}); it is closed")
    version = resolve_version(store, rel.ref)
    spec = get_service_spec(store, version.service)
    run, why = current_run(store, version, project_dir)
    if run is None:
        raise ConflictError(
            f"no evaluation of {version.ref} on the current suite to compare answers with: {why}",
            hint=f"run `liveops eval {version.ref}` first",
        )
    cases = store.evaluation.cases(run.id, "must_pass")
    source = "must_pass"
    if not cases:  # a suite without must-pass cases: the first evaluation cases instead
        cases, source = store.evaluation.cases(run.id, "eval")[:20], "eval (no must-pass cases)"
    cases = cases[:MAX_CASES]
    load_inputs = [_inputs(c, spec) for c in store.evaluation.cases(run.id, "eval")[:500]]
    load_inputs = load_inputs or [_inputs(c, spec) for c in cases]
    target, target_from = p95_target(spec, version)
    path = f"{url.rstrip('/')}/v1/services/{version.service}/predict"
    headers = {"authorization": f"Bearer {key}"} if key else None
    with httpx.Client(timeout=timeout_s, headers=headers) as client:
        post = _poster(client, path)
        answers = [post(_inputs(c, spec)) for c in cases]
        mismatches = _mismatches(cases, answers, version.number)
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            load = list(
                pool.map(post, (load_inputs[i % len(load_inputs)] for i in range(requests)))
            )
    latencies = [ms for _, ms in answers + load]
    statuses = [a for a, _ in answers + load if "prediction_id" not in a]
    ids = [str(a["prediction_id"]) for a, _ in answers + load if "prediction_id" in a]
    logged = _wait_logged(store, ids, log_wait_s)
    p95 = float(np.percentile([ms for _, ms in load], 95)) if load else None
    fallback = _ask_fallback(store, version, spec, project_dir, cases)
    problems: list[str] = []
    if statuses:
        problems.append(f"{len(statuses)} request(s) got no answer: {statuses[0].get('error')}")
    problems += mismatches[:5]
    if len(mismatches) > 5:
        problems.append(f"... {len(mismatches) - 5} more answer(s) differ")
    if len(logged) < len(ids):
        problems.append(
            f"{len(ids) - len(logged)} of {len(ids)} answers did not reach the prediction log "
            f"within {log_wait_s:g} s (is the gateway on this project's database?)"
        )
    if p95 is not None and p95 >= target:
        problems.append(f"p95 {p95:.1f} ms is not under the target {target:g} ms ({target_from})")
    summary: dict[str, Any] = {
        "smoke_id": "sm" + secrets.token_hex(3),
        "url": url,
        "version": version.ref,
        "eval_run": run.id,
        "cases": len(cases),
        "cases_from": source,
        "equal": len(cases) - len(mismatches),
        "load_requests": len(load),
        "concurrency": concurrency,
        "logged": len(logged),
        "answers": len(ids),
        "p95_ms": None if p95 is None else round(p95, 2),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2) if latencies else None,
        "target_ms": target,
        "target_from": target_from,
        "fallback": fallback,
        "problems": problems,
        "passed": not problems,
        "at": store.clock.now().isoformat(),
    }
    detail = (
        f"{summary['equal']}/{len(cases)} {source} answers equal the evaluation's, "
        f"{len(logged)}/{len(ids)} logged, p95 {summary['p95_ms']} ms < {target:g} ms"
        if not problems
        else "; ".join(problems)
    )
    item = ChecklistItem(
        "staging_smoke",
        "automatic",
        "pass" if not problems else "fail",
        f"{summary['smoke_id']} at {url}: {detail}",
        summary,
    )
    with store.write() as conn:
        store.releases.put_item(conn, rel.id, item)
        store.audit.append(
            conn,
            actor=actor,
            action="release.smoke",
            object_type="release",
            object_id=rel.id,
            data={k: v for k, v in summary.items() if k != "at"},
        )
    return view_release(store, rel.id, project_dir, actor=actor), summary


Answer = tuple[dict[str, Any], float]


def _poster(client: httpx.Client, path: str) -> Callable[[Mapping[str, Any]], Answer]:
    def post(inputs: Mapping[str, Any]) -> Answer:
        start = time.perf_counter()  # a duration, not a time of day: no Clock needed
        try:
            r = client.post(path, json={"inputs": dict(inputs)})
        except httpx.HTTPError as exc:
            raise LiveopsError(
                f"the gateway at {path} did not answer: {type(exc).__name__}: {exc}",
                hint="start it with `liveops serve --alias staging --port PORT` and pass --url",
            ) from None
        ms = (time.perf_counter() - start) * 1000.0
        try:
            body = r.json()
        except ValueError:
            body = {}
        if r.status_code != 200:
            return {"error": f"HTTP {r.status_code}: {body.get('message', r.text[:200])}"}, ms
        return dict(body), ms

    return post


def _inputs(case: EvalCaseRecord, spec: ServiceSpec) -> dict[str, Any]:
    """The case's inputs the service declares (dataset columns it does not are left out)."""
    return {k: v for k, v in case.inputs.items() if k in spec.inputs and v is not None}


def _mismatches(
    cases: Sequence[EvalCaseRecord], answers: Sequence[Answer], number: int
) -> list[str]:
    out = []
    for case, (a, _) in zip(cases, answers, strict=True):
        if "prediction_id" not in a:
            continue  # counted as a request without an answer
        if a.get("version") != number:
            out.append(
                f"{case.case_id}: answered by version {a.get('version')}, not {number} (is the "
                "gateway serving the staging alias, pointing at this version?)"
            )
        elif a.get("label") != case.predicted:
            out.append(
                f"{case.case_id}: answered {a.get('label')!r}, evaluation {case.predicted!r}"
            )
        elif case.decision is not None and a.get("decision") != case.decision:
            out.append(
                f"{case.case_id}: decision {a.get('decision')!r}, evaluation {case.decision!r}"
            )
    return out


def _wait_logged(store: Store, ids: Sequence[str], wait_s: float) -> set[str]:
    """The ids found in the prediction log, once all are there or ``wait_s`` has passed (the
    gateway's writer stores answers a moment after it sent them)."""
    deadline = time.monotonic() + wait_s
    found: set[str] = set()
    while True:
        missing = [i for i in ids if i not in found]
        for start in range(0, len(missing), 500):
            found |= store.predictions.existing_ids(missing[start : start + 500])
        if len(found) >= len(set(ids)) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _ask_fallback(
    store: Store,
    version: VersionRecord,
    spec: ServiceSpec,
    project_dir: Path,
    cases: Sequence[EvalCaseRecord],
) -> dict[str, Any] | None:
    settings = DecisionSettings.from_config(version.config.get("decision"))
    if settings.fallback is None:
        return None
    records = [_inputs(c, spec) for c in cases]
    labels = set(spec.output.labels)
    try:
        if settings.fallback == "rules":
            loaded = load_serving_version(
                store, version.service, version.number, project_dir=project_dir
            )
            if loaded.rules is None:
                raise LiveopsError(loaded.load_error or "the rules did not load")
            answered = [loaded.rules(r) for r in records]
        else:
            ref = settings.fallback_version
            assert ref is not None
            fb = resolve_version(store, ref)
            loaded = load_serving_version(store, fb.service, fb.number, project_dir=project_dir)
            if loaded.load_error:
                raise LiveopsError(loaded.load_error)
            answered = list(loaded.model.predict_batch(records).labels)
    except Exception as exc:
        why = exc.message if isinstance(exc, LiveopsError) else f"{type(exc).__name__}: {exc}"
        return {"passed": False, "detail": f"the fallback {settings.fallback} failed: {why}"}
    good = sum(1 for a in answered if a in labels)
    bad = [a for a in answered if a is not None and a not in labels]
    passed = good > 0 and not bad
    detail = f"{settings.fallback} answered {good}/{len(records)} cases with a label"
    if bad:
        detail += f" and {len(bad)} with labels the service does not have ({bad[0]!r})"
    return {"passed": passed, "detail": detail}
