"""A simulated span of traffic through a real gateway, on one simulated clock.

Each day's answers get times that follow a daily pattern; consecutive answers are sent
together, as the instances of one request carrying its time in ``X-Liveops-Time``. A share of
the answers gets its true label back as feedback, hours to days later, sent with its own
simulated time and in time order, interleaved with the traffic. The monitor runs on the same
clock (``FixedClock`` at the simulated time): every ``monitor_every_s`` simulated seconds if
asked, and once at the end; a store opened on an ``AdvancingClock`` is moved to each pass's
time, so what the pass writes through the store (alert states, incidents, audit events) carries
it too, and to each bulk import of labels, so they are stored at their simulated time (the
monitor reads feedback by the time it was stored). So the gateway (log rows, prediction ids,
heartbeats), the store (feedback times), the labels and the monitor all see one timeline.

Labels due after the simulated span ends have not arrived yet: they are counted as pending,
not sent, which is what makes the last days' quality rest on few labels (and on the estimate).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import numpy as np

from liveops.core.clock import AdvancingClock, FixedClock
from liveops.core.project import ServiceSpec
from liveops.errors import LiveopsError, UsageError
from liveops.services.drift import References
from liveops.services.monitoring import OVERLAP, MonitorReport, run_monitor
from liveops.services.registry import get_service_spec
from liveops.services.simulation.gateway import started_gateway
from liveops.services.simulation.schedule import (
    DAY_S,
    Phase,
    answer_times,
    batches,
    label_delays,
)
from liveops.store import Store

__all__ = [
    "DayReport",
    "Progress",
    "RecordSource",
    "SimulationOptions",
    "SimulationReport",
    "simulate",
]

# (phase name, how many records, day index) -> labelled records for that day
RecordSource = Callable[[str, int, int], Sequence[Mapping[str, Any]]]
# (simulated now, answers sent, answers in all)
Progress = Callable[[datetime, int, int], None]
OnMonitor = Callable[[MonitorReport, datetime], None]
# Called every ``tick_every_s`` simulated seconds with the simulated time, once the labels due
# by then were sent and the log stored every answer: a rollout controller's looks, say. True
# ends the traffic there (the span ends at that tick).
OnTick = Callable[[datetime], bool | None]


@dataclass(frozen=True)
class SimulationOptions:
    """How the traffic is shaped. ``delay_s``: the shortest and longest label delay."""

    per_day: int = 3000
    label_share: float = 0.3
    label_field: str = "label"
    delay_s: tuple[float, float] = (3600.0, 3 * 86400.0)
    batch: int = 20
    daily: bool = True
    monitor: bool = True
    monitor_every_s: float | None = None  # simulated seconds between passes; None: at the end
    tick_every_s: float | None = None  # simulated seconds between ``on_tick`` calls
    seed: int = 0
    source: str = "simulation"  # the feedback's source
    # How labels come back: "http", one POST /v1/feedback each at its own time; "import",
    # every simulated hour in bulk (as a ticketing system's export would), each row keeping
    # its own time: the same checks, one transaction per hour instead of one per label.
    labels_via: Literal["http", "import"] = "http"
    # A record field to split each day's true accuracy by (e.g. language): only a simulation
    # knows every answer's true label, so it can say what the monitor's numbers should be.
    truth_by: str | None = None
    log_wait_s: float = 120.0  # how long to wait for the log to store the answers sent

    def check(self) -> None:
        if self.per_day < 1:
            raise UsageError(f"--per-day {self.per_day} must be at least 1")
        if not 0.0 <= self.label_share <= 1.0:
            raise UsageError(f"--label-share {self.label_share} must be between 0 and 1")
        if self.batch < 1:
            raise UsageError(f"--batch {self.batch} must be at least 1")
        if self.labels_via not in ("http", "import"):
            raise UsageError(f"--labels-via {self.labels_via!r} is not one of http, import")
        if self.monitor_every_s is not None and self.monitor_every_s < 300:
            raise UsageError(
                "--monitor-every must be at least 5m (one monitor window)",
                hint="e.g. --monitor-every 1h",
            )
        if self.tick_every_s is not None and self.tick_every_s < 60:
            raise UsageError(f"tick_every_s {self.tick_every_s:g} must be at least 60 s")


@dataclass
class DayReport:
    day: str  # the simulated day's start, ISO
    phase: str
    answers: int = 0
    requests: int = 0
    refused: int = 0  # instances the gateway refused (422)
    labels_sent: int = 0  # labels of this day's answers sent by the span's end
    labels_pending: int = 0  # labels of this day's answers due after the end
    # Answers with a label, and how many equal the record's true label: in all and per value
    # of ``truth_by``. The monitor's realised accuracy is this on the labelled share only.
    new_labels: int = 0  # labels sent that the service's output.labels do not list
    judged: int = 0
    right: int = 0
    judged_by: dict[str, int] = field(default_factory=dict)
    right_by: dict[str, int] = field(default_factory=dict)

    @property
    def true_accuracy(self) -> float | None:
        return self.right / self.judged if self.judged else None

    def true_accuracy_of(self, value: str) -> float | None:
        n = self.judged_by.get(value, 0)
        return self.right_by.get(value, 0) / n if n else None


@dataclass
class SimulationReport:
    """What a simulation sent and what the monitor made of it."""

    service: str
    url: str
    gateway: str  # "started" (and stopped) or "given"
    start: str  # the simulated span, ISO
    end: str
    answers: int = 0
    requests: int = 0
    refused: int = 0
    labels_sent: int = 0
    labels_pending: int = 0
    labels_refused: int = 0  # feedback the gateway refused (a label the service does not know)
    monitor_passes: int = 0
    wall_s: float = 0.0
    days: list[DayReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    monitor: MonitorReport | None = None  # the last pass

    @property
    def simulated_days(self) -> float:
        span = datetime.fromisoformat(self.end) - datetime.fromisoformat(self.start)
        return span.total_seconds() / DAY_S

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["simulated_days"] = self.simulated_days
        for day, out in zip(self.days, d["days"], strict=True):
            out["true_accuracy"] = day.true_accuracy
        return d


class _Stopped(Exception):
    """The tick callback ended the traffic at ``at`` (seconds since the epoch)."""

    def __init__(self, at: float) -> None:
        super().__init__(at)
        self.at = at


@dataclass(order=True)
class _Label:
    at: float
    seq: int
    prediction_id: str = field(compare=False)
    label: str = field(compare=False)
    day: int = field(compare=False)


def simulate(
    store: Store,
    project_dir: Path,
    service: str,
    phases: Sequence[Phase],
    source: RecordSource,
    options: SimulationOptions | None = None,
    *,
    start: datetime,
    url: str | None = None,
    progress: Progress | None = None,
    on_monitor: OnMonitor | None = None,
    on_tick: OnTick | None = None,
) -> SimulationReport:
    """Send ``phases`` of traffic for ``service`` from ``start`` (simulated) through a gateway
    (``url``, else one started here with ``--allow-time-override`` on loopback), with late
    labels, and run the monitor on the simulated clock.

    ``on_monitor`` gets every pass's report and its simulated time (alert rules can be judged
    there); ``on_tick`` gets the simulated time every ``options.tick_every_s`` (without a
    monitor pass: e.g. a rollout controller's looks on its own cadence) and may end the span
    early by returning True."""
    opts = options or SimulationOptions()
    opts.check()
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    spec = get_service_spec(store, service)
    days = sum(p.days for p in phases)
    if days < 1:
        raise UsageError("a simulation needs at least one day")
    end = start + timedelta(days=days)
    report = SimulationReport(
        service, url or "", "given" if url else "started", start.isoformat(), end.isoformat()
    )
    wall = time.perf_counter()
    if url is None:
        log_path = project_dir / ".liveops" / "simulation-gateway.log"
        with started_gateway(project_dir, log_path=log_path) as started:
            report.url = started
            run = _Run(
                store, project_dir, spec, opts, report, url=started, progress=progress, own=True
            )
            run.traffic(phases, source, start, on_monitor, on_tick)
        # The gateway stopped: its log stored everything, so the last pass sees it all.
    else:
        run = _Run(store, project_dir, spec, opts, report, url=url, progress=progress)
        run.traffic(phases, source, start, on_monitor, on_tick)
    run.wait_for_log()
    if opts.monitor:
        run.monitor(datetime.fromisoformat(report.end), on_monitor)
    report.wall_s = time.perf_counter() - wall
    return report


class _Run:
    def __init__(
        self,
        store: Store,
        project_dir: Path,
        spec: ServiceSpec,
        opts: SimulationOptions,
        report: SimulationReport,
        *,
        url: str,
        progress: Progress | None,
        own: bool = False,
    ) -> None:
        self.store, self.project_dir, self.spec, self.opts = store, project_dir, spec, opts
        self.report, self.url, self.progress = report, url, progress
        self.inputs = set(spec.inputs)
        self.known = set(spec.output.labels)
        self.logged_before = store.predictions.count(spec.name)
        self.labels: list[_Label] = []
        self.seq = 0
        self.client = httpx.Client(base_url=url, timeout=30)
        self.first_refusal: str | None = None
        # Every pass compares with the same drift reference: read (and tokenised) once.
        self.references = References()
        # A pass runs once the log stored every answer sent; through its own gateway nothing
        # else is in flight, so a pass reads only the rows stored since the last one (the
        # monitor's overlap, in wall-clock minutes, would read the whole simulation again).
        self.log_overlap = timedelta(0) if own else OVERLAP

    # --- the traffic ------------------------------------------------------------------------

    def traffic(
        self,
        phases: Sequence[Phase],
        source: RecordSource,
        start: datetime,
        on_monitor: OnMonitor | None,
        on_tick: OnTick | None = None,
    ) -> None:
        rep = self.report
        end = start.timestamp() + DAY_S * sum(p.days for p in phases)
        try:
            try:
                self._days(phases, source, start, end, on_monitor, on_tick)
            except _Stopped as stop:
                end = stop.at
                rep.end = datetime.fromtimestamp(end, UTC).isoformat()
                rep.notes.append(f"the traffic ended at {rep.end}, as the tick callback asked")
            self._labels_until(end, flush=True)
        finally:
            self.client.close()
        pending = len(self.labels)
        rep.labels_pending = pending
        for item in self.labels:
            rep.days[item.day].labels_pending += 1
        if self.first_refusal:
            rep.notes.append(self.first_refusal)
        if rep.answers == 0:
            raise LiveopsError(
                f"the gateway answered none of the {rep.refused:,} simulated instances",
                hint=self.first_refusal or "check the records against the service's inputs",
            )

    def _days(
        self,
        phases: Sequence[Phase],
        source: RecordSource,
        start: datetime,
        end: float,
        on_monitor: OnMonitor | None,
        on_tick: OnTick | None,
    ) -> None:
        opts, rep = self.opts, self.report
        total = opts.per_day * sum(p.days for p in phases)
        every = opts.monitor_every_s if opts.monitor else None
        next_pass = start.timestamp() + every if every else None
        tick = opts.tick_every_s if on_tick is not None else None
        next_tick = start.timestamp() + tick if tick else None
        day = 0
        for phase in phases:
            for _ in range(phase.days):
                day_start = start.timestamp() + day * DAY_S
                rng = np.random.default_rng([opts.seed, day])
                records = list(source(phase.name, opts.per_day, day))
                dr = DayReport(datetime.fromtimestamp(day_start, UTC).isoformat(), phase.name)
                rep.days.append(dr)
                times = answer_times(day_start, len(records), rng, daily=opts.daily)
                labelled = rng.random(len(records)) < opts.label_share
                delays = label_delays(len(records), rng, *opts.delay_s)
                for lo, hi in batches(len(records), opts.batch):
                    at = float(times[lo])
                    while next_pass is not None and next_pass <= at:
                        self._pass_at(next_pass, on_monitor)
                        next_pass += every  # type: ignore[operator]
                    while next_tick is not None and next_tick <= at:
                        self._tick_at(next_tick, on_tick)
                        next_tick += tick  # type: ignore[operator]
                    self._labels_until(at)
                    self._predict(records[lo:hi], at, labelled[lo:hi], delays[lo:hi], day)
                    if self.progress is not None:
                        self.progress(
                            datetime.fromtimestamp(at, UTC), rep.answers + rep.refused, total
                        )
                day += 1
        while next_pass is not None and next_pass < end:
            self._pass_at(next_pass, on_monitor)
            next_pass += every  # type: ignore[operator]
        while next_tick is not None and next_tick < end:
            self._tick_at(next_tick, on_tick)
            next_tick += tick  # type: ignore[operator]

    def _predict(
        self,
        records: Sequence[Mapping[str, Any]],
        at: float,
        labelled: np.ndarray,
        delays: np.ndarray,
        day: int,
    ) -> None:
        rep, dr = self.report, self.report.days[day]
        field_ = self.opts.label_field
        body = {
            "instances": [
                {k: v for k, v in r.items() if k in self.inputs and v is not None} for r in records
            ]
        }
        r = self._post(f"/v1/services/{self.spec.name}/predict", body, at)
        rep.requests += 1
        dr.requests += 1
        if r.status_code == 422:  # one instance that does not fit refuses the request
            rep.refused += len(records)
            dr.refused += len(records)
            self.first_refusal = self.first_refusal or _said(r)
            return
        if r.status_code != 200:
            raise _unexpected(r, "predict")
        answers = r.json()["predictions"]
        rep.answers += len(answers)
        dr.answers += len(answers)
        by = self.opts.truth_by
        for record, answer, yes, delay in zip(records, answers, labelled, delays, strict=True):
            truth = record.get(field_)
            judged = model_label(answer)
            if truth is not None and judged is not None:
                ok = int(judged == truth)
                dr.judged += 1
                dr.right += ok
                if by is not None:
                    key = str(record.get(by))
                    dr.judged_by[key] = dr.judged_by.get(key, 0) + 1
                    dr.right_by[key] = dr.right_by.get(key, 0) + ok
            if not yes or truth is None or truth == "":
                continue
            self.seq += 1
            item = _Label(at + float(delay), self.seq, answer["prediction_id"], str(truth), day)
            heapq.heappush(self.labels, item)

    def _labels_until(self, until: float, *, flush: bool = False) -> None:
        """Send every label due at or before ``until``, oldest first (with ``labels_via``
        import: those due by the last full simulated hour, or all of them with ``flush``)."""
        if self.opts.labels_via == "import":
            self._import_until(until if flush else until - until % 3600)
            return
        rep = self.report
        while self.labels and self.labels[0].at <= until:
            item = heapq.heappop(self.labels)
            body = {
                "prediction_id": item.prediction_id,
                "label": item.label,
                "source": self.opts.source,
            }
            r = self._post("/v1/feedback", body, item.at)
            if r.status_code == 422:  # a label the service does not know (allow_new_labels off)
                rep.labels_refused += 1
                if not any(n.startswith("labels refused") for n in rep.notes):
                    rep.notes.append(f"labels refused by the gateway: {_said(r)}")
                continue
            if r.status_code != 200:
                raise _unexpected(r, "feedback")
            rep.labels_sent += 1
            rep.days[item.day].labels_sent += 1
            rep.days[item.day].new_labels += item.label not in self.known

    def _import_until(self, until: float) -> None:
        from liveops.services.predictions.feedback_import import import_feedback_rows

        due: list[_Label] = []
        while self.labels and self.labels[0].at <= until:
            due.append(heapq.heappop(self.labels))
        if not due:
            return
        self._wait_for_ids([d.prediction_id for d in due])
        if isinstance(self.store.clock, AdvancingClock):  # stored (stored_at) at the import's time
            self.store.clock.advance_to(datetime.fromtimestamp(until, UTC))
        rows = [
            {
                "prediction_id": d.prediction_id,
                "label": d.label,
                "time": d.at,
                "source": self.opts.source,
            }
            for d in due
        ]
        result = import_feedback_rows(self.store, rows, name="simulation")
        refused = {r.line - 1 for r in result.rejected}
        rep = self.report
        for i, d in enumerate(due):
            if i in refused:
                rep.labels_refused += 1
            else:
                rep.labels_sent += 1
                rep.days[d.day].labels_sent += 1
                rep.days[d.day].new_labels += d.label not in self.known
        if result.rejected and not any(n.startswith("labels refused") for n in rep.notes):
            first = result.rejected[0]
            rep.notes.append(f"labels refused by the import: {first.message}")

    def _wait_for_ids(self, ids: list[str]) -> None:
        """Until the log stored these answers: an import refuses labels of answers it cannot
        find, and the gateway's writer stores answers a moment after they are given."""
        deadline = time.monotonic() + self.opts.log_wait_s
        missing = set(ids) - self.store.predictions.existing_ids(ids)
        while missing and time.monotonic() < deadline:
            time.sleep(0.02)
            missing -= self.store.predictions.existing_ids(list(missing))

    def _post(self, path: str, body: dict[str, Any], at: float) -> httpx.Response:
        headers = {"X-Liveops-Time": f"{at:.6f}"}
        for attempt in range(20):
            try:
                r = self.client.post(path, json=body, headers=headers)
            except httpx.HTTPError as exc:
                raise LiveopsError(
                    f"the gateway at {self.url} did not answer: {exc}",
                    hint="is it running? without --url the simulation starts its own",
                ) from None
            if r.status_code not in (429, 503) or attempt == 19:
                return r
            time.sleep(min(2.0, 0.05 * 2**attempt))  # a full queue or a version loading
        raise AssertionError("unreachable")

    # --- the monitor --------------------------------------------------------------------------

    def _pass_at(self, at: float, on_monitor: OnMonitor | None) -> None:
        self._labels_until(at, flush=True)
        self.wait_for_log()
        self.monitor(datetime.fromtimestamp(at, UTC), on_monitor)

    def _tick_at(self, at: float, on_tick: OnTick | None) -> None:
        self._labels_until(at, flush=True)
        self.wait_for_log()
        if on_tick is not None and on_tick(datetime.fromtimestamp(at, UTC)) is True:
            raise _Stopped(at)

    def wait_for_log(self) -> None:
        """Until every answer sent is stored (the gateway's writer stores them a moment
        later), so a monitor pass at a simulated time sees everything before it."""
        want = self.logged_before + self.report.answers
        deadline = time.monotonic() + self.opts.log_wait_s
        while self.store.predictions.count(self.spec.name) < want:
            if time.monotonic() > deadline:
                raise LiveopsError(
                    f"the prediction log stored fewer than the {self.report.answers:,} answers "
                    f"sent within {self.opts.log_wait_s:.0f} s",
                    hint="is the gateway's database the same as this project's? "
                    "(`liveops predictions list` shows what was stored)",
                )
            time.sleep(0.02)

    def monitor(self, at: datetime, on_monitor: OnMonitor | None) -> None:
        if isinstance(self.store.clock, AdvancingClock):  # the store's events carry the pass's time
            self.store.clock.advance_to(at)
        report = run_monitor(
            self.store,
            self.project_dir,
            self.spec.name,
            clock=FixedClock(at),
            owner=None,
            references=self.references,
            log_overlap=self.log_overlap,
        )
        self.report.monitor_passes += 1
        self.report.monitor = report
        if not report.ran:
            self.report.notes.append(f"a monitor pass was skipped: {report.skipped}")
        if on_monitor is not None:
            on_monitor(report, at)


def _said(r: httpx.Response) -> str:
    try:
        data = r.json()
    except ValueError:
        return f"HTTP {r.status_code}: {r.text[:200]}"
    message = str(data.get("message", ""))
    problems = data.get("problems") or []
    if problems:
        first = problems[0]
        message += f" (first: {first.get('loc')}: {first.get('msg')})"
    return message


def _unexpected(r: httpx.Response, what: str) -> LiveopsError:
    if r.status_code == 400 and "X-Liveops-Time" in r.text:
        return LiveopsError(
            "the gateway does not take a request's time, so it cannot replay simulated time",
            hint="start it with `liveops serve --allow-time-override` on 127.0.0.1, or leave "
            "out --url and the simulation starts its own",
        )
    return LiveopsError(
        f"the gateway answered {what} with HTTP {r.status_code}: {_said(r)}",
        hint="see the gateway's output; `liveops serve` says what it serves at start",
    )


def model_label(answer: Mapping[str, Any]) -> Any:
    """The label an answer is judged on, as the monitor judges it: the answered label of an
    automatic answer, else the top label of the model's scores (an answer sent to human review
    or answered by the fallback), else the answered label.

    >>> model_label({"decision": "human_review", "label": None, "scores": {"a": 0.4, "b": 0.6}})
    'b'
    >>> model_label({"decision": "automatic", "label": "a", "scores": {"a": 0.9, "b": 0.1}})
    'a'
    """
    scores = answer.get("scores") or {}
    if answer.get("decision") == "automatic" or not scores:
        return answer.get("label")
    return max(scores, key=lambda k: scores[k])
