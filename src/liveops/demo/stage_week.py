"""Demo stage: a simulated week of live traffic on v1, then what the monitor saw.

v1 (production) answers eight simulated days through a real gateway (``liveops simulate``'s
engine): five days of the generator's ``normal`` world, two of ``covariate_shift`` (more
Spanish, shorter messages, more chat; the right label for a text unchanged) and one of
``new_world`` (a product launch and a label v1 does not know). A share of the answers gets its
true label back hours to days later; the monitor runs on the simulated clock every 6 simulated
hours, judging the alert rules each time (``stage_incident``: the webhook, the incident and its
walk to a review, on the same clock as the store's audit events). The stage
reads the monitor's own series per day: volume, latency, cost, label mix, and for all answers
and the Spanish slice the realised accuracy on the labels that arrived, the label-free estimate
and the share labelled. Only a simulation knows every answer's true label: it is kept beside
them, so the demo can say which number was right.

Re-running the demo skips the simulation (its summary, with what the alerts did, is kept in
``data/week.json``) and reads the same windows again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from liveops.core.clock import FixedClock
from liveops.demo.stage_incident import IncidentStory, StoryClock, WeekWatch, hook_server
from liveops.demo.stage_incident import walk_incident as _walk_incident
from liveops.services.monitoring import metric_series
from liveops.services.simulation import Phase, SimulationOptions, simulate
from liveops.store import Store

__all__ = ["DAYS_AFTER", "LABELS", "PER_DAY", "PHASES", "WeekDay", "WeekResult", "run_week_stage"]

PHASES = (Phase("normal", 5), Phase("covariate_shift", 2), Phase("new_world", 1))
PER_DAY = 2000  # answers per simulated day: 16,000 in all, in requests of BATCH instances
BATCH = 100
LABEL_SHARE = 0.3
LABEL_DELAY_S = (3600.0, 2 * 86400.0)  # one hour to two days, log-uniform
DAYS_AFTER = 1  # the week ends this many days before today: the rollout day (stage_rollout)
MONITOR_EVERY_S = 6 * 3600.0  # a monitor pass (and the alert rules) every 6 simulated hours
LABELS = ("billing", "technical", "cancellation", "general")
SLICES = ("all", "spanish")
_QUALITY = ("accuracy", "estimated.accuracy", "label_coverage")
_METRICS = ("volume", "latency.p95_ms", "cost.per_request", *_QUALITY)
_SUMMARY = "week.json"

Step = Callable[[str, bool], None]
Detail = Callable[[str, int, int], None]


@dataclass
class SliceDay:
    """One slice on one simulated day, from the monitor's windows (and the true accuracy the
    simulation knows)."""

    answers: int = 0
    accuracy: float | None = None  # on the labels that arrived
    estimated: float | None = None
    interval: tuple[float, float] | None = None
    coverage: float | None = None
    true_accuracy: float | None = None  # every answer, against its true label


@dataclass
class WeekDay:
    day: str
    phase: str
    answers: int
    latency_p95_ms: float | None
    cost_per_request: float | None
    label_mix: dict[str, float]
    new_labels: int = 0  # labels that arrived naming a route the service does not list
    slices: dict[str, SliceDay] = field(default_factory=dict)


@dataclass
class WeekResult:
    ran: bool  # False: the week was simulated by an earlier run
    start: str
    end: str
    per_day: int
    answers: int
    requests: int
    labels_sent: int
    labels_pending: int
    wall_s: float
    days: list[WeekDay] = field(default_factory=list)
    incident: IncidentStory = field(default_factory=IncidentStory)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_week_stage(
    store: Store,
    folder: Path,
    service: str,
    *,
    seed: int,
    step: Step,
    clock: StoryClock,
    candidate: int,
    actor: str,
    detail: Detail | None = None,
) -> WeekResult:
    """Simulate the week once (a fresh gateway on the demo's project, the alert rules judged
    on every pass, the incident walked), then read it back."""
    summary_path = folder / "data" / _SUMMARY
    summary = _load(summary_path) if store.predictions.count(service) else None
    days = sum(p.days for p in PHASES)
    if summary is None:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start = today - timedelta(days=days + DAYS_AFTER)
        shift_start = start + timedelta(days=PHASES[0].days)

        def tell(now: datetime, done: int, total: int) -> None:
            if detail is not None:
                detail(f"simulating {now:%a %d %b %H:%M}", done, total)

        with hook_server() as (hook_url, received):
            watch = WeekWatch(
                store,
                clock,
                service,
                shift_start=shift_start,
                candidate=candidate,
                hook_url=hook_url,
                actor=actor,
            )
            try:
                report = simulate(
                    store,
                    folder,
                    service,
                    PHASES,
                    _generator(seed),
                    SimulationOptions(
                        per_day=PER_DAY,
                        label_share=LABEL_SHARE,
                        delay_s=LABEL_DELAY_S,
                        batch=BATCH,
                        labels_via="import",
                        seed=seed,
                        truth_by="language",
                        monitor_every_s=MONITOR_EVERY_S,
                    ),
                    start=start,
                    progress=tell,
                    on_monitor=watch,
                )
            finally:
                clock.release()
            story = watch.story
            story.delivered = len(received)
            story.delivered_rules = sorted(
                {str(n.get("rule")) for body in received for n in body.get("alerts", [])}
            )
        summary = report.to_dict()
        summary.pop("monitor", None)
        summary["incident"] = story.to_dict()
        summary_path.write_text(json.dumps(summary, indent=2))
        ran = True
    else:
        ran = False
    result = _read_back(store, service, summary, ran)
    walked = _walk(store, clock, result.incident, summary, actor)
    if walked:
        summary["incident"] = result.incident.to_dict()
        summary_path.write_text(json.dumps(summary, indent=2))
    step(
        f"simulate a week on {service}@production: {result.answers:,} answers "
        f"({PER_DAY:,} a day in requests of {BATCH}), {result.labels_sent:,} late labels, "
        "then the monitor",
        ran,
    )
    inc = result.incident
    if inc.incident is not None:
        step(
            f"alerts: {len(inc.fired)} fired, {inc.delivered} delivered to the demo's webhook; "
            f"incident {inc.incident} {inc.status or 'open'}",
            ran or walked,
        )
    return result


def _walk(
    store: Store, clock: StoryClock, story: IncidentStory, summary: Mapping[str, Any], actor: str
) -> bool:
    """Walk the week's incident on to reviewed (on the simulated clock after the week's end);
    whether anything was done."""
    if story.incident is None or story.status == "reviewed":
        return False
    try:
        _walk_incident(store, clock, story, end=datetime.fromisoformat(summary["end"]), actor=actor)
    finally:
        clock.release()
    return True


def _generator(seed: int) -> Callable[[str, int, int], list[dict[str, Any]]]:
    from liveops.demo.data import generate_records

    def draw(mode: str, n: int, day: int) -> list[dict[str, Any]]:
        return generate_records(n, seed * 1000 + day, mode)  # type: ignore[arg-type]

    return draw


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data


def _read_back(store: Store, service: str, summary: Mapping[str, Any], ran: bool) -> WeekResult:
    start = datetime.fromisoformat(summary["start"])
    end = datetime.fromisoformat(summary["end"])
    clock = FixedClock(end - timedelta(microseconds=1))  # the last simulated day is the last bucket
    metrics = [*_METRICS, *(f"label_share.{label}" for label in LABELS)]
    series = metric_series(
        store, service, metrics=metrics, by="slice", window="1d", since=start, clock=clock
    )
    rows = {(r.key, r.metric): r for r in series.rows}
    out = WeekResult(
        ran=ran,
        start=summary["start"],
        end=summary["end"],
        per_day=PER_DAY,
        answers=summary["answers"],
        requests=summary["requests"],
        labels_sent=summary["labels_sent"],
        labels_pending=summary["labels_pending"],
        wall_s=summary["wall_s"],
        incident=IncidentStory.from_dict(summary.get("incident") or {}),
    )
    for i, sim_day in enumerate(summary["days"]):

        def value(key: str, metric: str, i: int = i) -> float | None:
            row = rows.get((key, metric))
            return None if row is None or i >= len(row.values) else row.values[i]

        day = WeekDay(
            day=sim_day["day"][:10],
            phase=sim_day["phase"],
            answers=int(value("all", "volume") or 0),
            latency_p95_ms=value("all", "latency.p95_ms"),
            cost_per_request=value("all", "cost.per_request"),
            label_mix={
                label: v
                for label in LABELS
                if (v := value("all", f"label_share.{label}")) is not None
            },
            new_labels=int(sim_day.get("new_labels", 0)),
        )
        for key in SLICES:
            est = rows.get((key, "estimated.accuracy"))
            judged = sim_day["judged"] if key == "all" else sim_day["judged_by"].get("es", 0)
            right = sim_day["right"] if key == "all" else sim_day["right_by"].get("es", 0)
            day.slices[key] = SliceDay(
                answers=int(value(key, "volume") or 0),
                accuracy=value(key, "accuracy"),
                estimated=value(key, "estimated.accuracy"),
                interval=None if est is None or est.intervals is None else est.intervals[i],
                coverage=value(key, "label_coverage"),
                true_accuracy=right / judged if judged else None,
            )
        out.days.append(day)
    return out
