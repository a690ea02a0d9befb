"""Demo stage: the rollout day after the week. v2 goes through shadow and a 10 % canary, its
Spanish guardrail fails and the controller rolls it back by itself; v3, trained with more
Spanish data, is registered, evaluated, reviewed, released (the author's own approval refused,
two approvals, a staging smoke test, the decision to launch) and rolled out to 100 %.

One simulated day (the day after the week) of ``spanish_market`` traffic (40 % Spanish: support
opens to a Spanish-speaking market) goes through a real gateway at :data:`PER_DAY` answers a
day, spread evenly, in requests of :data:`BATCH`, until the tick after v3 is production; 80 %
of the answers get their true route back 5 minutes to 2 hours later. The rollout controller's
:func:`~liveops.services.rollouts.look` runs on its own cadence, every :data:`LOOK_EVERY`
simulated minutes, on the simulated clock (the simulation's ``on_tick``); the people's steps
(the releases, the new version) happen at those ticks too, so the audit log tells the day in
order, each step with its actor. The monitor does not run during the day (``liveops monitor``
catches up later).

The simulated requests carry no ``X-Customer-Id``: each request's arm is drawn at random with
the step's share (the plan's sticky key applies to real callers that send it).

Re-running the demo skips the day: its summary is kept in ``data/rollout.json``.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from liveops.core.records import DatasetRecord
from liveops.core.rollout.state import RolloutRecord
from liveops.demo.stage_incident import StoryClock
from liveops.demo.stage_release import (
    AUTHOR,
    ReleaseStory,
    minutes,
    release_v2,
    release_v3_draft,
    release_v3_launch,
)
from liveops.errors import ConflictError
from liveops.services.rollouts import incident_of, look, start_rollout
from liveops.services.simulation import Phase, SimulationOptions, simulate, started_gateway
from liveops.store import Store

__all__ = [
    "BATCH",
    "LOOK_EVERY",
    "PER_DAY",
    "WORLD",
    "RolloutResult",
    "RolloutStory",
    "run_rollout_stage",
]

WORLD = "spanish_market"
PER_DAY = 48_000  # 2,000 answers an hour, spread evenly; the day ends once v3 is production
BATCH = 50
LABEL_SHARE = 0.8
LABEL_DELAY_S = (300.0, 7200.0)  # 5 minutes to 2 hours, log-uniform
LOOK_EVERY = 20  # simulated minutes between the controller's looks
V2_RELEASE_AT = timedelta(hours=1, minutes=10)  # after the week's incident was reviewed
SPANISH_SHOWN = 3
_SUMMARY = "rollout.json"

Step = Callable[[str, bool], None]
Detail = Callable[[str, int, int], None]


@dataclass
class RolloutStory:
    """One rollout as the demo prints it: its looks (with every gate's raw values), the shadow
    agreement and Spanish disagreements, how it ended."""

    id: str = ""
    ref: str = ""
    baseline: str = ""
    started_by: str = ""
    started_at: str = ""
    state: str = ""
    ended_at: str | None = None
    reason: str | None = None
    incident: int | None = None
    incident_status: str | None = None
    looks: list[dict[str, Any]] = field(default_factory=list)  # at, step, action, detail, gates
    shadow: dict[str, Any] = field(default_factory=dict)
    spanish_disagreements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failing(self) -> list[dict[str, Any]]:
        """The failing gates of the look that ended the rollout."""
        last = self.looks[-1] if self.looks else {"gates": []}
        return [g for g in last["gates"] if g["verdict"] == "fail"]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "failing": self.failing}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RolloutStory:
        return cls(**{k: v for k, v in d.items() if k != "failing"})


@dataclass
class RolloutResult:
    ran: bool  # False: an earlier run of the demo simulated the day
    day: str
    per_day: int
    world: str
    answers: int = 0
    requests: int = 0
    labels_sent: int = 0
    wall_s: float = 0.0  # the simulated day (traffic, looks, the people's steps)
    train_s: float = 0.0  # training v3 before it
    v2: RolloutStory = field(default_factory=RolloutStory)
    v3: RolloutStory = field(default_factory=RolloutStory)
    releases: dict[str, ReleaseStory] = field(default_factory=dict)  # "v2", "v3"
    v3_eval: dict[str, Any] = field(default_factory=dict)  # run, exit code, review
    production: int | None = None
    audit: list[dict[str, Any]] = field(default_factory=list)  # seq, time, actor, action, object

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["v2"], d["v3"] = self.v2.to_dict(), self.v3.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RolloutResult:
        return cls(
            **{
                **d,
                "v2": RolloutStory.from_dict(d["v2"]),
                "v3": RolloutStory.from_dict(d["v3"]),
                "releases": {k: ReleaseStory.from_dict(v) for k, v in d["releases"].items()},
            }
        )


def run_rollout_stage(
    store: Store,
    folder: Path,
    service: str,
    *,
    seed: int,
    step: Step,
    clock: StoryClock,
    day: datetime,
    v2: int,
    train: DatasetRecord,
    eval_set: DatasetRecord,
    actor: str,
    detail: Detail | None = None,
) -> RolloutResult:
    """Simulate the rollout day starting at ``day`` (the week's end) once, then report it."""
    path = folder / "data" / _SUMMARY
    if path.exists():
        result = RolloutResult.from_dict(json.loads(path.read_text()))
        result.ran = False
        result.production = store.registry.get_alias(service, "production")
    else:
        if store.rollouts.list_rollouts(service, limit=1):
            raise ConflictError(
                f"{folder} holds rollouts of {service} but no {_SUMMARY}: an earlier demo run "
                "stopped during its rollout day",
                hint="start the demo over with `liveops demo --reset`",
            )
        from liveops.services.registry import get_service_spec

        if get_service_spec(store, service).rollout is None:
            raise ConflictError(
                f"{folder}/liveops.yaml has no rollout plan: it was written by an older demo",
                hint="start the demo over with `liveops demo --reset`",
            )
        t0 = time.perf_counter()
        v3_files = _train_v3(store, folder, seed, train)
        train_s = time.perf_counter() - t0
        day_ = _Day(store, folder, service, clock, day, v2, v3_files, (train, eval_set), actor)
        try:
            result = day_.run(seed, detail)
        finally:
            clock.release()
        result.train_s = round(train_s, 1)
        path.write_text(json.dumps(result.to_dict(), indent=2))
    for line, done in _steps(result, service):
        step(line, done and result.ran)
    return result


def _steps(r: RolloutResult, service: str) -> list[tuple[str, bool]]:
    """The stage's progress lines (short: a terminal wraps long ones)."""
    rel2, rel3 = r.releases.get("v2"), r.releases.get("v3")
    out = [
        (
            f"simulate a rollout day on {service}: {r.answers:,} answers, {WORLD}, a look every "
            f"{LOOK_EVERY} min ({r.wall_s:.0f} s; v3's training {r.train_s:.0f} s)",
            True,
        )
    ]
    if rel2 is not None:
        out.append((f"release {rel2.id} of {rel2.ref}: override approved by dee", True))
    out.append((f"roll out {r.v2.ref}: {r.v2.reason or r.v2.state}", True))
    if rel3 is not None:
        decided = rel3.decision["kind"] if rel3.decision else "not launched"
        out.append((f"release {rel3.id} of {rel3.ref}: {decided}", True))
    if r.v3.ref:
        out.append((f"roll out {r.v3.ref}: {r.v3.state}, production is v{r.production}", True))
    return out


@dataclass
class _V3Files:
    records: Path
    model: Path
    metrics: dict[str, float]


def _train_v3(store: Store, folder: Path, seed: int, train: DatasetRecord) -> _V3Files:
    """v3's training records and model (once; the files are kept)."""
    from liveops.demo import training
    from liveops.services.datasets import load_records

    records_path = folder / "data" / "support-train-v3.csv"
    model_path = folder / "models" / "support-router-v3.skops"
    metrics_path = model_path.with_suffix(".metrics.json")
    if not model_path.exists() or not records_path.exists():
        kept = training.v3_training_records(load_records(store, train), seed)
        _write_csv(records_path, [dict(r) for r in kept])
        pipeline = training.fit_v2(kept, seed)
        model_path.parent.mkdir(parents=True, exist_ok=True)
        training.save_skops(pipeline, model_path)
        from liveops.demo.data import generate

        metrics = training.quick_metrics(pipeline, generate(seed).eval)
        metrics_path.write_text(json.dumps(metrics, indent=2))
    return _V3Files(records_path, model_path, json.loads(metrics_path.read_text()))


def _write_csv(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]))
        writer.writeheader()
        for r in records:
            writer.writerow({k: "|".join(v) if isinstance(v, list) else v for k, v in r.items()})


class _Day:
    """The day's director: the simulation's ``on_tick``. Each tick moves the story's clock to
    the tick's time, then does the next thing the day needs (a release, a rollout start, or
    the controller's look at the active rollout)."""

    def __init__(
        self,
        store: Store,
        folder: Path,
        service: str,
        clock: StoryClock,
        day: datetime,
        v2: int,
        v3: _V3Files,
        datasets: tuple[DatasetRecord, DatasetRecord],
        actor: str,
    ) -> None:
        self.store, self.folder, self.service, self.clock = store, folder, service, clock
        self.day, self.v2, self.v3_files, self.actor = day, v2, v3, actor
        self.train, self.eval_set = datasets
        self.url = ""
        self.state = "idle"
        self.active: RolloutRecord | None = None
        self.result = RolloutResult(
            ran=True, day=day.date().isoformat(), per_day=PER_DAY, world=WORLD
        )
        self.v3: int | None = None

    def run(self, seed: int, detail: Detail | None) -> RolloutResult:
        from liveops.demo.data import generate_records

        head = self.store.audit.head()
        since = head.seq if head else 0

        def draw(mode: str, n: int, day: int) -> list[dict[str, Any]]:
            return generate_records(n, seed * 1000 + 100 + day, mode)  # type: ignore[arg-type]

        def tell(now: datetime, done: int, total: int) -> None:
            if detail is not None:
                detail(f"simulating {now:%a %d %b %H:%M}", done, total)

        log = self.folder / ".liveops" / "simulation-gateway.log"
        with started_gateway(self.folder, log_path=log) as url:
            self.url = url
            report = simulate(
                self.store,
                self.folder,
                self.service,
                [Phase(WORLD, 1)],
                draw,
                SimulationOptions(
                    per_day=PER_DAY,
                    label_share=LABEL_SHARE,
                    delay_s=LABEL_DELAY_S,
                    batch=BATCH,
                    daily=False,
                    monitor=False,
                    labels_via="import",
                    seed=seed,
                    truth_by="language",
                    tick_every_s=LOOK_EVERY * 60.0,
                ),
                start=self.day,
                url=url,
                progress=tell,
                on_tick=self,
            )
        r = self.result
        r.answers, r.requests, r.labels_sent = report.answers, report.requests, report.labels_sent
        r.wall_s = round(report.wall_s, 1)
        r.production = self.store.registry.get_alias(self.service, "production")
        r.audit = _audit_since(self.store, since)
        return r

    # --- the ticks --------------------------------------------------------------------------

    def __call__(self, at: datetime) -> bool:
        """Act at the tick ``at``; True once the day's story is over (the traffic stops)."""
        if self.state in ("done", "v3 blocked"):
            return True
        self.clock.advance_to(at)
        if self.active is not None:
            self._look(at)
        elif self.state == "idle" and at >= self.day + V2_RELEASE_AT:
            ref = f"{self.service}@{self.v2}"
            self.result.releases["v2"] = release_v2(
                self.store, self.folder, ref, actor=self.actor, advance=self._minutes(at)
            )
            self.state = "v2 released"
        elif self.state == "v2 released":
            self._start(f"{self.service}@{self.v2}", self.actor, "v2")
        elif self.state == "v2 ended":
            self._prepare_v3(at)
            self.state = "v3 drafted"
        elif self.state == "v3 drafted":
            rel = self.result.releases["v3"]
            rel = release_v3_launch(self.store, self.folder, rel, at=at, advance=self._minutes(at))
            self.result.releases["v3"] = rel
            self.state = "v3 decided" if rel.decision else "v3 blocked"
        elif self.state == "v3 decided":
            self._start(f"{self.service}@{self.v3}", AUTHOR, "v3")
        return False

    def _minutes(self, at: datetime) -> Callable[[], datetime]:
        tick = minutes(at)

        def advance() -> datetime:
            return self.clock.advance_to(tick())

        return advance

    def _start(self, ref: str, actor: str, which: str) -> None:
        rec = start_rollout(self.store, self.folder, ref, actor=actor)
        self.active = rec
        self.state = f"{which} rolling"
        story = RolloutStory(
            id=rec.id,
            ref=rec.ref,
            baseline=f"{rec.service}@{rec.baseline}",
            started_by=actor,
            started_at=rec.started_at.isoformat(),
            state=rec.state,
        )
        setattr(self.result, which, story)
        self._wait_for(ref)

    def _look(self, at: datetime) -> None:
        assert self.active is not None
        which = "v2" if self.active.version == self.v2 else "v3"
        story: RolloutStory = getattr(self.result, which)
        before = self.active
        done = look(self.store, self.folder, before, clock=self.clock)
        rec, seen = done.rollout, done.look
        story.looks.append(_look_line(before, seen))
        shadow = seen.counts.get("shadow")
        if shadow:
            story.shadow = _shadow(shadow)
        story.state = rec.state
        if rec.state not in ("running", "held", "watching"):
            story.ended_at, story.reason = at.isoformat(), seen.detail
            story.incident = incident_of(self.store, rec.id)
            story.incident_status = None if story.incident is None else "open"
            story.spanish_disagreements = _spanish(self.store, story.shadow)
            self.active = None
            self.state = f"{which} ended" if which == "v2" else "done"
            if which == "v3" and rec.state == "completed":
                self._resolve_v2_incident()
        else:
            self.active = rec
        if seen.action in ("advance", "abort"):
            time.sleep(1.2)  # the gateway's routing poll (0.5 s) picks the change up

    def _resolve_v2_incident(self) -> None:
        """The incident v2's rollback opened is resolved once v3 is production (ann)."""
        from liveops.services.alerts import get_incident, move_incident

        incident = self.result.v2.incident
        if incident is None or get_incident(self.store, incident).status != "open":
            return
        self.clock.advance_to(self.clock.now() + timedelta(minutes=5))
        note = f"{self.service}@{self.v3} is production and passed the Spanish guardrail"
        move_incident(self.store, incident, "resolved", actor="ann", note=note)
        self.result.v2.incident_status = "resolved"

    def _wait_for(self, ref: str, limit_s: float = 90.0) -> None:
        """Until the gateway loaded ``ref`` (its routing then follows the rollout)."""
        deadline = time.monotonic() + limit_s
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                try:
                    if ref in client.get(self.url + "/readyz").json().get("models", []):
                        break
                except (httpx.HTTPError, ValueError):
                    pass
                time.sleep(0.1)
        time.sleep(1.2)

    def _prepare_v3(self, at: datetime) -> None:
        """bo registers v3 (its training records a new version of the training set),
        evaluates it against v1, two scripted reviewers review it, bo drafts its release."""
        from liveops.demo import training
        from liveops.demo.stage_eval import run_eval_stage
        from liveops.demo.stage_review import run_review_stage
        from liveops.services.datasets import add_dataset
        from liveops.services.registry import register_version

        advance = self._minutes(at)
        files = self.v3_files
        source = (
            f"{files.records}: every record of v1's training set and "
            f"{training.V3_EXTRA_SPANISH:,} more Spanish messages"
        )
        dataset, _ = add_dataset(
            self.store, files.records, name=self.train.name,
            actor=AUTHOR, source=source,
        )  # fmt: skip
        advance()
        registered = register_version(
            self.store,
            self.service,
            actor=AUTHOR,
            artifact=files.model,
            datasets={"train": dataset.ref, "eval": self.eval_set.ref},
            params=training.PARAMS["v3"],
            metrics=files.metrics,
            message="v2's features, trained with more Spanish data after v2's rollback",
            trust=training.TRUSTED_TYPES,
            cwd=self.folder,
        )
        v3 = registered.version
        self.v3 = v3.number
        advance()
        quiet: Step = lambda _line, _done: None  # noqa: E731 - the stage prints its own steps
        evaluated = run_eval_stage(
            self.store, self.folder, [(v3.ref, None)], actor=AUTHOR, step=quiet
        ).evaluated[0]
        advance()
        reviewed = run_review_stage(self.store, self.folder, [v3.ref], actor=AUTHOR, progress=quiet)
        self.result.v3_eval = {
            "ref": v3.ref,
            "run": evaluated.run.id,
            "exit_code": evaluated.run.exit_code,
            "review": reviewed.reviews.get(v3.ref),
            "metrics": files.metrics,
        }
        advance()
        es = files.metrics.get("accuracy_es")
        extra = (
            "## Spanish\n\nTrained with "
            f"{training.V3_EXTRA_SPANISH:,} more Spanish messages than v1 had, after v2 "
            "(7 % of v1's Spanish records) was rolled back by the rollout's Spanish guardrail"
            + (f"; accuracy on the Spanish evaluation cases {es:.3f}." if es is not None else ".")
            + "\n"
        )
        self.result.releases["v3"] = release_v3_draft(
            self.store, self.folder, v3.ref, notes_extra=extra, advance=advance
        )


def _look_line(rec: RolloutRecord, seen: Any) -> dict[str, Any]:
    keep = ("gate", "verdict", "estimate", "lower", "upper", "n_candidate", "n_baseline", "margin")
    cand = seen.counts.get("candidate", {})
    return {
        "at": seen.at.isoformat(),
        "step": rec.plan.steps[seen.step].label(),
        "action": seen.action,
        "detail": seen.detail,
        "candidate_answers": cand.get("answers"),
        "gates": [{k: g.get(k) for k in keep} for g in seen.gates],
    }


def _shadow(summary: dict[str, Any]) -> dict[str, Any]:
    spanish = summary.get("slices", {}).get("spanish", {})
    review = summary.get("review") or {}
    return {
        "pairs": summary.get("pairs"),
        "agreement": summary.get("agreement"),
        "unpaired": summary.get("unpaired"),
        "spanish": {"pairs": spanish.get("pairs"), "agreement": spanish.get("agreement")},
        "english": _english(summary),
        "review": review.get("review"),
        "sampled": review.get("items"),
        "disagreements": review.get("disagreements"),
    }


def _english(summary: dict[str, Any]) -> dict[str, Any]:
    slices = summary.get("slices", {})
    en = slices.get("language=en") or {}
    return {"pairs": en.get("pairs"), "agreement": en.get("agreement")}


def _spanish(store: Store, shadow: dict[str, Any]) -> list[dict[str, Any]]:
    """A few Spanish disagreements of the shadow step's review: the message, both answers and
    the route that came back, when it did."""
    review = shadow.get("review")
    if not review:
        return []
    out = []
    for item in store.reviews.items(str(review)):
        if item.inputs.get("language") != "es":
            continue
        out.append(
            {
                "text": str(item.inputs.get("text", "")),
                "served": str(item.extra.get("served", "")),
                "shadow": str(item.extra.get("shadow", "")),
                "label": item.expected,
            }
        )
    with_label = [d for d in out if d["label"] is not None]
    return (with_label + [d for d in out if d["label"] is None])[:SPANISH_SHOWN]


def _audit_since(store: Store, seq: int) -> list[dict[str, Any]]:
    events = store.audit.events(limit=2000)
    return [
        {
            "seq": e.seq,
            "time": e.time,
            "actor": e.actor,
            "action": e.action,
            "object": e.object_id,
        }
        for e in reversed(events)
        if e.seq > seq
    ]
