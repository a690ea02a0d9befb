"""Shadow copies yield to served work: a copy is dropped, and counted with its reason, whenever
something a served answer waits for is busy, and taken when the gateway is idle. Fake signals
and fake deployments: no clock, no model, no wall-clock assertion."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from liveops.core.serving.routing import Arm, Route
from liveops.services.serving import Gateway, GatewayMetrics
from liveops.services.serving.batching import Job
from liveops.services.serving.shadow import LagProbe, ShadowCopier, ShadowLimits, ShadowPolicy
from tests.services.serving.conftest import with_gateway
from tests.services.serving.wine import make_wine


class FakeBatcher:
    def __init__(self, depth: int = 0, running: int = 0, max_queue: int = 100) -> None:
        self.depth, self.running, self.max_queue = depth, running, max_queue
        self.jobs: list[Job] = []

    def submit(self, job: Job) -> None:
        self.jobs.append(job)


class FakeBreaker:
    def __init__(self) -> None:
        self.failures = 0

    def allow(self) -> bool:
        return True

    def record_failure(self) -> None:
        self.failures += 1


class FakeDeployment:
    def __init__(self, arm: str, **batcher: int) -> None:
        self.arm = arm
        self.unavailable: str | None = None
        self.breaker = FakeBreaker()
        self.batcher = FakeBatcher(**batcher)
        self.timeout_s = 3600.0


class FakeProbe(LagProbe):
    """A probe whose lag the test sets."""

    def __init__(self) -> None:
        super().__init__()
        self.lag = 0.0

    def lag_s(self) -> float:
        return self.lag


ROUTE = Route(
    "wines",
    (Arm("production", 1, 1.0, "live"), Arm("shadow", 2, 1.0, "shadow")),
)
ANSWERS = [{"prediction_id": "01SERVED"}]


class Rig:
    def __init__(self, limits: ShadowLimits | None = None) -> None:
        self.metrics = GatewayMetrics()
        self.served = FakeDeployment("production")
        self.candidate = FakeDeployment("shadow")
        self.probe = FakeProbe()
        self.requests = 0  # other served requests being answered
        self.backlog = 0.0
        deps: dict[tuple[str, int], Any] = {("wines", 1): self.served, ("wines", 2): self.candidate}
        self.copier = ShadowCopier(
            self.metrics,
            lambda: deps,
            limits,
            self.probe,
            served_requests=lambda: self.requests,
            log_backlog=lambda: self.backlog,
        )

    def copy(self) -> None:
        async def run() -> None:
            self.copier.copy(ROUTE, 0.3, [{"alcohol": 11.0}], ANSWERS, 1.0e9, "tester")

        asyncio.run(run())

    def counted(self) -> dict[tuple[str, str], float]:
        """(outcome, reason) -> copies, from the /metrics exposition."""
        out: dict[tuple[str, str], float] = {}
        for line in generate_latest(self.metrics.registry).decode().splitlines():
            if line.startswith("liveops_shadow_copies_total{"):
                outcome = line.split('outcome="')[1].split('"')[0]
                reason = line.split('reason="')[1].split('"')[0]
                out[(outcome, reason)] = float(line.split()[-1])
        return out


def test_an_idle_gateway_takes_the_copy_paired_with_the_served_answer() -> None:
    rig = Rig()
    rig.copy()
    [job] = rig.candidate.batcher.jobs
    assert list(job.shadow_of or []) == ["01SERVED"]
    assert job.records == [{"alcohol": 11.0}]
    assert job.ids[0] != "01SERVED"
    assert rig.counted() == {}  # counted when it is answered
    assert rig.copier.in_flight == 1


@pytest.mark.parametrize(
    ("busy", "reason"),
    [
        (lambda rig: setattr(rig.served.batcher, "depth", 1), "served_queue"),
        (lambda rig: setattr(rig.served.batcher, "running", 4), "served_queue"),
        (lambda rig: (setattr(rig.probe, "lag", 0.02), setattr(rig, "requests", 2)), "loop_lag"),
        (lambda rig: setattr(rig, "backlog", 50_000.0), "log_backlog"),
        (lambda rig: setattr(rig.candidate.batcher, "depth", 60), "candidate_queue"),
        (lambda rig: setattr(rig.copier, "in_flight", 256), "in_flight"),
        (lambda rig: setattr(rig.candidate, "unavailable", "failed to load"), "unavailable"),
    ],
    ids=["queued", "running", "lag", "log", "candidate", "in_flight", "unavailable"],
)
def test_a_copy_is_dropped_and_counted_when_served_work_waits(busy: Any, reason: str) -> None:
    rig = Rig()
    busy(rig)
    rig.copy()
    assert rig.candidate.batcher.jobs == []
    assert rig.counted() == {("dropped", reason): 1.0}


def test_a_late_loop_with_no_served_request_out_delays_no_one() -> None:
    rig = Rig()
    rig.probe.lag = 0.05
    rig.copy()
    assert len(rig.candidate.batcher.jobs) == 1
    rig.requests = 1
    rig.copy()
    assert len(rig.candidate.batcher.jobs) == 1
    assert rig.counted() == {("dropped", "loop_lag"): 1.0}


def test_the_shadow_queue_never_waits_for_the_candidate_the_served_version_does() -> None:
    """The candidate's own queue does not count as served work: only its half-full limit."""
    rig = Rig()
    rig.candidate.batcher.depth, rig.candidate.batcher.running = 40, 8
    rig.copy()
    assert len(rig.candidate.batcher.jobs) == 1


def test_limits_are_settings() -> None:
    rig = Rig(ShadowLimits(max_served_records=4, max_log_backlog=100_000))
    rig.served.batcher.depth = 3
    rig.backlog = 50_000.0
    rig.copy()
    assert len(rig.candidate.batcher.jobs) == 1


def test_answered_and_failed_copies_are_counted_when_they_come_back() -> None:
    rig = Rig()

    async def run() -> None:
        copy = rig.copier.copy
        copy(ROUTE, 0.3, [{"alcohol": 11.0}], ANSWERS, 1.0e9, "tester")
        copy(ROUTE, 0.3, [{"alcohol": 12.5}], ANSWERS, 1.0e9, "tester")
        ok, bad = rig.candidate.batcher.jobs
        ok.future.set_result([{"prediction_id": "01SHADOW"}])
        bad.future.set_exception(TimeoutError())
        await asyncio.sleep(0)  # the done callbacks run on the loop

    asyncio.run(run())
    assert rig.counted() == {("answered", ""): 1.0, ("failed", "timeout"): 1.0}
    assert rig.copier.in_flight == 0
    assert rig.candidate.breaker.failures == 1


def test_a_copy_outside_the_shadow_share_is_not_made_nor_counted() -> None:
    rig = Rig()
    half = Route("wines", (Arm("production", 1), Arm("shadow", 2, 0.25, "shadow")))

    async def run() -> None:
        rig.copier.copy(half, 0.3, [{"alcohol": 11.0}], ANSWERS, 1.0e9, None)

    asyncio.run(run())
    assert rig.candidate.batcher.jobs == []
    assert rig.counted() == {}


class StubLoop:
    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[float] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Any) -> None:
        self.timers.append(when)


def test_the_lag_probe_reports_a_late_tick_for_a_while_and_an_overdue_one_at_once() -> None:
    probe = LagProbe(interval_s=0.005, threshold_s=0.002, hold_s=0.05)
    loop = StubLoop()
    probe.start(loop)  # type: ignore[arg-type]
    assert probe.lag_s() == 0.0
    loop.now = 100.005
    probe._tick()  # on time
    assert probe.lag_s() == 0.0
    loop.now = 100.030  # due at 100.010: 20 ms late
    probe._tick()
    assert probe.lag_s() == pytest.approx(0.020)
    loop.now = 100.035
    probe._tick()  # on time again, but the late tick counts for hold_s
    assert probe.lag_s() == pytest.approx(0.020)
    loop.now = 100.090
    assert probe.lag_s() == pytest.approx(0.050)  # the next tick (due 100.040) is overdue now
    probe._tick()
    assert probe.lag_s() == pytest.approx(0.050)
    assert (probe.ticks, probe.late_ticks) == (4, 2)
    assert probe.take_max() == pytest.approx(0.050)
    assert probe.take_max() == 0.0
    probe.stop()
    assert probe.lag_s() == 0.0


def test_the_policy_alone_on_fake_signals() -> None:
    signals = {"lag": 0.0, "records": 0, "requests": 0, "backlog": 0.0}
    policy = ShadowPolicy(
        ShadowLimits(),
        lambda: signals["lag"],
        lambda: int(signals["records"]),
        lambda: int(signals["requests"]),
        lambda: signals["backlog"],
    )

    def reason() -> str | None:
        return policy.reason(in_flight=0, depth=0, max_queue=64, n=2)

    assert reason() is None
    signals["requests"] = 5  # served requests out, but the loop keeps up: taken
    assert reason() is None
    signals["lag"] = 0.003
    assert reason() == "loop_lag"
    signals["records"] = 1
    assert reason() == "served_queue"
    assert policy.reason(in_flight=0, depth=31, max_queue=64, n=2) == "candidate_queue"


def test_a_gateway_probes_its_own_loop_until_it_stops(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    make_wine(project, '{fallback: rules, rules: "wine_rules:classify"}')

    async def body(gw: Gateway) -> Gateway:
        ticks = gw.shadow.probe.ticks
        await asyncio.sleep(0.1)
        assert gw.shadow.probe.ticks > ticks  # on the loop that answers
        gw._update_gauges()
        assert gw.metrics.registry is not None
        text = generate_latest(gw.metrics.registry).decode()
        assert "\nliveops_event_loop_lag_seconds " in text
        return gw

    gw = with_gateway(project, body)
    assert gw.shadow.probe.lag_s() == 0.0  # stopped with the gateway
