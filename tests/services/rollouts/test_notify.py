"""Every rollout transition goes through the alerts outbox to the receivers the plan names,
delivered to a real local webhook that checks the HMAC; an unknown receiver (or an
Alertmanager) in ``notify:`` is refused when the project file is read, naming its line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from liveops.core.clock import FixedClock
from liveops.core.project import parse_project
from liveops.errors import ProjectFileError
from liveops.services.alerts import send_outbox
from liveops.services.rollouts import (
    abort_rollout,
    look,
    pause_rollout,
    resume_rollout,
    rollback,
    start_rollout,
)
from liveops.store import Store
from tests.cli_runner import Runner
from tests.services.alerts.receivers import SECRET, Hook
from tests.services.rollouts.conftest import T0, wait_for
from tests.services.rollouts.test_controller import arms, send, shadow_rows
from tests.services.rollouts.wines import PLAN, PROJECT, project

NOTIFY = PLAN.replace("      key: {field: customer}\n", "      key: {field: customer}\n"
                      "      notify: [hook]\n")  # fmt: skip
RECEIVERS = """
receivers:
  hook: {webhook: {url: URL, secret_env: HOOK_SECRET}, timeout_s: 2}
  am: {alertmanager: "http://127.0.0.1:9093"}
"""


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


def test_every_transition_reaches_the_webhook_signed_once_each(
    wines: tuple[Store, Path],
    gateway: Callable[[], TestClient],
    clock: FixedClock,
    hook: Hook,
) -> None:
    store, folder = wines
    project(store, folder, plan=NOTIFY, extra=RECEIVERS.replace("URL", hook.url))
    env = {"HOOK_SECRET": SECRET}
    client = gateway()
    rec = start_rollout(store, folder, "wines@3", actor="ann")
    wait_for(lambda: len(arms(client)) == 2, "the shadow arm")
    send(client, clock, 60)
    wait_for(lambda: len(shadow_rows(store, T0)) >= 60, "the shadow copies")
    clock.advance(601)
    assert look(store, folder, rec, clock=clock).look.action == "advance"
    pause_rollout(store, "wines", actor="bo", reason="freeze", clock=clock)
    resume_rollout(store, "wines", actor="bo", clock=clock)
    abort_rollout(store, "wines", actor="cy", reason="enough", clock=clock)
    again = start_rollout(store, folder, "wines@2", actor="ann")
    rollback(store, "wines", actor="dee", reason="south complaints", clock=clock)

    got = send_outbox(store, clock=clock, env=env)
    assert got.failed == {}
    assert hook.bad_signatures == 0  # every body carried the right HMAC
    bodies = hook.accepted
    assert [(b["rollout"]["transition"], b["rollout"]["actor"]) for b in bodies] == [
        ("started", "ann"),
        ("advanced", "rollout-controller"),
        ("paused", "bo"),
        ("resumed", "bo"),
        ("aborted", "cy"),
        ("started", "ann"),
        ("rolled_back", "dee"),
    ]
    assert {b["kind"] for b in bodies} == {"rollout"}
    advanced = bodies[1]["rollout"]
    assert (advanced["rollout"], advanced["version"], advanced["baseline"]) == (
        rec.id, "wines@3", "wines@1",
    )  # fmt: skip
    assert (advanced["from"], advanced["to"], advanced["step"]) == (
        "running", "running", "canary 50%",
    )  # fmt: skip
    last = bodies[-1]
    assert last["rollout"]["rollout"] == again.id
    assert last["rollout"]["reason"] == "south complaints"
    assert last["summary"].startswith("[ROLLOUT rolled_back] wines@2")
    assert len(set(hook.keys())) == 7
    # Delivered once: the next round has nothing to send.
    assert send_outbox(store, clock=clock, env=env).delivered == []
    assert len(hook.accepted) == 7


def test_a_receiver_that_is_down_gets_the_transitions_later_in_order(
    wines: tuple[Store, Path], clock: FixedClock, hook: Hook
) -> None:
    store, folder = wines
    project(store, folder, plan=NOTIFY, extra=RECEIVERS.replace("URL", hook.url))
    env = {"HOOK_SECRET": SECRET}
    hook.mode = "down"
    start_rollout(store, folder, "wines@3", actor="ann")
    pause_rollout(store, "wines", actor="bo", clock=clock)
    first = send_outbox(store, clock=clock, env=env)
    assert len(first.failed) == 1
    assert first.waiting == 1  # the second waits behind the first
    hook.mode = "up"
    clock.advance(31)
    later = send_outbox(store, clock=clock, env=env)
    assert len(later.delivered) == 2
    assert [b["rollout"]["transition"] for b in hook.accepted] == ["started", "paused"]


@pytest.mark.parametrize(
    ("notify", "message"),
    [
        ("[hook, nope]", "unknown receiver 'nope' (declared under receivers: hook, am)"),
        ("[am]", "receiver 'am' is an Alertmanager: it takes alerts, not rollout transitions"),
    ],
)
def test_an_unknown_or_alertmanager_receiver_is_refused_with_its_line(
    notify: str, message: str
) -> None:
    plan = PLAN.replace("      key: {field: customer}\n", f"      notify: {notify}\n")
    text = PROJECT.replace("SERVING\n", "").replace("PLAN", plan) + RECEIVERS.replace(
        "URL", "http://127.0.0.1:1/hook"
    )
    with pytest.raises(ProjectFileError) as caught:
        parse_project(text, "liveops.yaml")
    line = text.splitlines().index(f"      notify: {notify}") + 1
    assert caught.value.message.startswith(f"liveops.yaml:{line}: services.0.rollout.notify.")
    assert message in caught.value.message


def test_service_apply_refuses_an_unknown_receiver_and_changes_nothing(
    run_cli: Runner, tmp_path: Path
) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    good = PROJECT.replace("SERVING\n", "").replace("PLAN", PLAN)
    (folder / "liveops.yaml").write_text(good)
    assert run_cli("service", "apply", cwd=folder).code == 0
    bad = good.replace("      key: {field: customer}\n", "      notify: [nope]\n")
    (folder / "liveops.yaml").write_text(bad)
    r = run_cli("service", "apply", cwd=folder)
    assert r.code == 4
    assert "unknown receiver 'nope' (declared under receivers: none)" in r.err
    shown = run_cli("service", "show", "wines", "--json", cwd=folder)
    assert shown.code == 0, shown.err
    assert "notify" not in shown.out  # the stored spec is the one applied before
