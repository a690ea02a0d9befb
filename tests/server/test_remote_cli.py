"""The remote CLI (issue 13, item 4): the same list of commands run on the local store of one
project and, with ``LIVEOPS_URL`` and ``LIVEOPS_KEY``, against a live gateway over an equal
project from a folder without ``liveops.yaml``: the same output and exit codes, including
commands that fail, a dataset file uploaded by `dataset add` and a .skops model uploaded by
`register` (a pickle refused remotely). Only what must differ is
normalised (ids, times, latencies, the projects' folders)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import joblib
import pytest

from liveops.client import Client
from liveops.errors import UsageError
from liveops.services.access import create_key
from liveops.store import open_store
from tests.cli_runner import Result, Runner
from tests.server.conftest import Server, free_port, logged
from tests.tabular import TABULAR_YAML, train_cancer

pytestmark = pytest.mark.slow

YAML = TABULAR_YAML.replace(
    "      below_threshold: human_review\n",
    "      below_threshold: human_review\n"
    "    alerts:\n      - {name: errors, metric: error_rate, above: 0.05, severity: page}\n",
)
ROWS = [
    {"mean_radius": 11.0 + i, "mean_texture": 17.0 + i / 2, "clinic": ("north", "south")[i % 2]}
    for i in range(12)
]


def _setup(run_cli: Runner, folder: Path, serve: Callable[..., Server]) -> tuple[Server, str, str]:
    """A project with cancer@1 (production) and cancer@2, a release of @2, 12 logged answers
    and one monitor pass; its gateway (keys required) and an admin key owned by ``tester``
    (the local commands' actor)."""
    folder.mkdir()
    (folder / "liveops.yaml").write_text(YAML)
    assert run_cli("service", "apply", cwd=folder).code == 0
    for n, c in ((1, 1.0), (2, 0.5)):
        model = train_cancer(folder / f"m{n}.skops", c=c)
        assert run_cli("register", "cancer", "--artifact", str(model), cwd=folder).code == 0
    assert run_cli("alias", "set", "cancer", "production", "1", cwd=folder).code == 0
    made = run_cli("release", "create", "cancer@2", "--json", cwd=folder)
    assert made.code == 0, made.err
    store = open_store(project_dir=folder)
    key = create_key(store, "cli", role="admin", owner="tester", actor="tester").token
    store.close()
    server = serve(project=folder, auth=True)
    r = httpx.post(
        f"{server.url}/v1/services/cancer/predict",
        json={"instances": ROWS},
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    ids = [p["prediction_id"] for p in r.json()["predictions"]]
    assert len(logged(folder, ids)) == len(ids)
    assert run_cli("monitor", "run", cwd=folder).code == 0
    return server, key, made.json()["id"]


def _register(data: Path) -> tuple[str, ...]:
    return ("register", "cancer", "--artifact", str(data / "m3.skops"), "-c", "threshold=0.7",
            "--eval-dataset", "extra", "--metric", "accuracy=0.9", "-m", "from afar")  # fmt: skip


def _scenario(first_prediction: str, release: str, data: Path = Path("-")) -> list[tuple[str, ...]]:
    return [
        ("dataset", "add", str(data / "extra.csv"), "--name", "extra"),  # uploaded remotely
        ("dataset", "add", str(data / "extra.csv"), "--name", "extra"),  # the same: a no-op
        ("dataset", "add", str(data / "missing.csv"), "--name", "extra"),  # no such file
        *[_register(data)] * 2,  # the .skops artifact uploaded remotely; again: the same version
        ("register", "cancer", "--artifact", str(data / "m3.skops"), "--json"),
        ("register", "cancer", "--artifact", str(data / "missing.skops")),  # no such file
        ("register", "cancer", "--artifact", str(data / "m3.skops"), "--eval-dataset", "nope"),
        ("versions", "show", "cancer@3"),
        ("service", "list"),
        ("service", "list", "--json"),
        ("versions", "list", "cancer"),
        ("versions", "show", "cancer@production"),
        ("versions", "show", "cancer@9"),  # no such version: exit 4
        ("alias", "list", "cancer"),
        ("describe", "cancer"),
        ("describe", "cancer", "--json"),
        ("alias", "set", "cancer", "production", "2", "-m", "promote"),
        ("predictions", "tail", "-s", "cancer", "-n", "5"),
        ("predictions", "tail", "--json", "-n", "3"),
        ("predictions", "show", first_prediction),
        ("predictions", "labels", "cancer"),
        ("monitor", "status"),
        ("metrics", "show", "cancer", "--since", "2d", "-m", "volume", "-m", "fallback_rate"),
        ("metrics", "show", "cancer", "-m", "volume", "-m", "error_rate", "--json"),
        ("release", "list"),
        ("release", "show", release),
        ("release", "approve", release, "-m", "fine"),  # refused: tester is its author
        ("rollout", "status"),
        ("rollout", "pause", "cancer"),  # no rollout: refused
        ("rollback", "cancer", "--to", "1", "--reason", "bad canary"),
        ("rollout", "status", "cancer"),  # none of cancer: an error (the rollback needed none)
        ("incident", "list"),
        ("incident", "show", "1"),
        ("incident", "ack", "1", "-m", "on it"),
        ("incident", "resolve", "1"),
        ("incident", "list", "--json"),
        ("alerts", "list"),
        ("alerts", "list", "--noisy"),
        ("alerts", "ack", "errors", "-s", "cancer"),  # refused: nothing fires
        ("incident", "open", "cancer", "--title", "users report wrong answers"),
        ("incident", "show", "2"),
        ("alerts", "silence", "errors", "--for", "1h", "--reason", "noisy", "-s", "cancer"),
        ("rollout", "start", "cancer@2"),  # refused: not evaluated
        ("describe", "nope"),  # an unknown service: exit 4 on both sides
        ("predictions", "tail", "--limit", "0"),  # a usage error: exit 2 on both sides
        ("versions", "list", "nope"),
        ("versions", "list", "cancer", "--json"),
    ]


_ISO = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00|Z)?")


def _normal(text: str, folder: Path, prediction_ids: list[str], release: str) -> str:
    text = text.replace(str(folder), "<project>")
    for n, pid in enumerate(prediction_ids):
        text = text.replace(pid, f"<prediction {n}>")
    text = text.replace(release, "<release>")
    text = _ISO.sub("<time>", text)
    text = re.sub(r"\d+\.\d ms", "<ms> ms", text)  # latencies
    text = re.sub(r'latency_ms"?: [\d.]+', "latency_ms: <ms>", text)
    text = re.sub(r"\b[\d,]+ s\b", "<lag> s", text)  # the monitor's lag
    text = re.sub(r'"lag_s": [\d.]+', '"lag_s": <lag>', text)
    text = re.sub(
        r"\b(?=[0-9]*[a-f])[0-9a-f]{12,64}\b", "<hash>", text
    )  # content and artifact hashes
    return re.sub(r" {2,}", " ", text)  # what the normalised values did to the padding


def _ids(folder: Path) -> list[str]:
    store = open_store(project_dir=folder)
    try:
        return [r["prediction_id"] for r in reversed(store.predictions.recent("cancer", 100))]
    finally:
        store.close()


def test_the_same_scenario_locally_and_remotely(
    run_cli: Runner,
    serve: Callable[..., Server],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local_dir, remote_dir, elsewhere = tmp_path / "local", tmp_path / "remote", tmp_path / "cwd"
    _, _, local_release = _setup(run_cli, local_dir, serve)
    server, key, remote_release = _setup(run_cli, remote_dir, serve)
    local_ids, remote_ids = _ids(local_dir), _ids(remote_dir)
    data = tmp_path / "data"
    data.mkdir()
    (data / "extra.csv").write_text(
        "mean_radius,mean_texture,clinic\n"
        + "".join(f"{10 + i},{15 + i % 4},north\n" for i in range(30))
    )
    train_cancer(data / "m3.skops", c=0.25)
    local_runs = [
        run_cli(*cmd, cwd=local_dir) for cmd in _scenario(local_ids[0], local_release, data)
    ]
    elsewhere.mkdir()  # no liveops.yaml here or above
    monkeypatch.setenv("LIVEOPS_URL", server.url)
    monkeypatch.setenv("LIVEOPS_KEY", key)
    remote_runs = [
        run_cli(*cmd, cwd=elsewhere) for cmd in _scenario(remote_ids[0], remote_release, data)
    ]

    def shown(r: Result, *how: object) -> tuple[int, str, str]:
        return r.code, _normal(r.out, *how), _normal(r.err, *how)  # type: ignore[arg-type]

    codes, differ = [], []
    for cmd, here, there in zip(_scenario("ID", "REL"), local_runs, remote_runs, strict=True):
        a = shown(here, local_dir, local_ids, local_release)
        b = shown(there, remote_dir, remote_ids, remote_release)
        if a != b:
            differ.append(f"{' '.join(cmd)}\n--- local:\n{a}\n--- remote:\n{b}")
        codes.append(here.code)
    assert not differ, "\n\n".join(differ)
    refused = {
        ("release", "approve"),
        ("rollout", "pause"),
        ("rollout", "start"),
        ("rollout", "status", "cancer"),
        ("describe", "nope"),
        ("versions", "list", "nope"),
        ("versions", "show", "cancer@9"),
        ("alerts", "ack", "errors"),  # nothing fires
        ("dataset", "add", str(Path("-") / "missing.csv")),
    }
    refused_register = {str(Path("-") / "missing.skops"), "nope"}
    unexpected = []
    for cmd, code in zip(_scenario("ID", "REL"), codes, strict=True):
        want = 2 if "--limit" in cmd else 1 if cmd[:2] == ("release", "show") else 0
        failed = {cmd[:2], cmd[:3]} & refused or refused_register & set(cmd)
        if code != (4 if failed else want):
            unexpected.append((cmd, code))
    assert not unexpected
    assert "applied services: cancer" in local_runs[-4].err  # describe nope
    assert "extra@1 added" in remote_runs[0].err
    assert "already added" in remote_runs[1].err
    assert "cancer@3 registered" in remote_runs[3].out
    assert "cancer@3 already registered (identical content)" in remote_runs[4].out
    assert remote_runs[5].json()["ref"] == "cancer@4"
    assert remote_runs[5].json()["created"] is True
    store = open_store(project_dir=remote_dir)
    assert [d.ref for d in store.datasets.list()] == ["extra@1"]
    v3 = store.registry.get_version("cancer", 3)
    events = store.audit.events(object_type="version", object_id="cancer@3")
    store.close()
    assert v3 is not None
    assert (v3.owner, v3.message, v3.metrics) == ("tester", "from afar", {"accuracy": 0.9})
    assert v3.config["decision"]["threshold"] == 0.7
    assert v3.lineage["datasets"]["eval"]["ref"] == "extra@1"
    assert v3.lineage["artifact_file"] == "m3.skops"
    assert [e.actor for e in events] == ["tester"]  # the key's owner

    # The change was made by the key's owner on the remote side.
    store = open_store(project_dir=remote_dir)
    events = store.audit.events(object_type="alias", object_id="cancer@production")
    store.close()
    assert events[0].actor == "tester"


def test_remote_refusals_and_errors(
    run_cli: Runner,
    serve: Callable[..., Server],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, key, _ = _setup(run_cli, tmp_path / "proj", serve)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.setenv("LIVEOPS_KEY", key)

    # A command without a remote form says so, and touches no local store.
    r = run_cli("--url", server.url, "service", "apply", cwd=elsewhere)
    assert r.code == 2
    assert "`liveops service apply` has no remote form yet" in r.err
    assert not (elsewhere / ".liveops").exists()
    r = run_cli("--url", server.url, "alias", "set", "cancer", "production", "2", "--as", "x",
                cwd=elsewhere)  # fmt: skip
    assert r.code == 2
    assert "the actor is the key's owner" in r.err

    # register uploads a .skops file only: a pickle would run code on the server when loaded.
    pickled = elsewhere / "model.joblib"
    joblib.dump({"not": "a model"}, pickled)
    r = run_cli("--url", server.url, "register", "cancer", "--artifact", str(pickled),
                cwd=elsewhere)  # fmt: skip
    assert r.code == 2
    assert "model.joblib is a pickle (joblib): loading it runs arbitrary code" in r.err
    assert "skops.io.dump" in r.err  # what to do instead
    model = train_cancer(elsewhere / "m.skops", c=0.3)
    for extra, text in (
        (("--trust", "builtins.eval"), "--trust has no remote form"),
        (("--entrypoint", "os:getcwd"), "--entrypoint has no remote form"),
    ):
        r = run_cli("--url", server.url, "register", "cancer", "--artifact", str(model), *extra,
                    cwd=elsewhere)  # fmt: skip
        assert r.code == 2
        assert text in r.err
    # The Python client: the same refusal, raised.
    with Client(server.url, key) as client, pytest.raises(UsageError, match="arbitrary code"):
        client.register("cancer", pickled)
    store = open_store(project_dir=tmp_path / "proj")
    assert [v.number for v in store.registry.list_versions("cancer")] == [1, 2]
    store.close()

    # --url works as LIVEOPS_URL does.
    r = run_cli("--url", server.url, "service", "list", "--json", cwd=elsewhere)
    assert r.code == 0
    assert [s["name"] for s in r.json()] == ["cancer"]

    # A wrong key: the server's 401 message, exit 4 (an error, not a usage error).
    monkeypatch.setenv("LIVEOPS_KEY", "lo_" + "x" * 43)
    r = run_cli("--url", server.url, "service", "list", cwd=elsewhere)
    assert r.code == 4
    assert "the API key is unknown, revoked or expired" in r.err
    assert "lo_xxx" not in r.err

    # A viewer may read but not move an alias: the server's 403 message.
    store = open_store(project_dir=tmp_path / "proj")
    viewer = create_key(store, "v", role="viewer", owner="ann", actor="tester").token
    store.close()
    monkeypatch.setenv("LIVEOPS_KEY", viewer)
    deadline = time.monotonic() + 20  # the gateway reads new keys at its next poll
    while (
        listed := run_cli("--url", server.url, "versions", "list", "cancer", cwd=elsewhere)
    ).code:
        assert time.monotonic() < deadline, listed.err
        time.sleep(0.5)
    r = run_cli("--url", server.url, "alias", "set", "cancer", "production", "2", cwd=elsewhere)
    assert r.code == 4
    assert "viewer" in r.err

    # Nobody listening: the message names the URL.
    nowhere = f"http://127.0.0.1:{free_port()}"
    r = run_cli("--url", nowhere, "service", "list", cwd=elsewhere)
    assert r.code == 4
    assert nowhere in r.err

    # The new routes answer bad input with 4xx and a message.
    admin = {"authorization": f"Bearer {key}"}
    bad = [
        ("POST", "/v1/incidents/abc/ack", {}, 400, "not a whole number"),
        ("GET", "/v1/incidents/99", None, 404, "99"),
        ("POST", "/v1/services/cancer/rollback", {"to": "one"}, 422, "'to' must be"),
        ("POST", "/v1/services/nope/rollback", {}, 404, "nope"),
        ("GET", "/v1/alerts/noise?days=0", None, 400, "days"),
        ("POST", "/v1/alerts/errors/silence", {"reason": "x"}, 422, "'for'"),
        ("POST", "/v1/rollouts/cancer/pause", {"why": "x"}, 422, "unknown field"),
        ("POST", "/v1/rollouts", {"version": "cancer@9"}, 404, "cancer@9"),
        ("POST", "/v1/incidents/1/review", {"summary": "s"}, 422, "impact"),
        ("GET", "/v1/incidents?status=closed", None, 400, "status"),
        ("POST", "/v1/datasets?name=extra", None, 400, "filename"),
        ("POST", "/v1/datasets?filename=a.csv", None, 400, "name"),
        ("POST", "/v1/datasets?name=extra&filename=a.txt", None, 422, "cannot tell the format"),
        ("POST", "/v1/datasets?name=extra&filename=../../x.csv", None, 422, "x.csv"),
        ("POST", "/v1/services/cancer/versions", None, 400, "filename"),
        ("POST", "/v1/services/cancer/versions?filename=m.pkl", None, 400, "arbitrary code"),
        ("POST", "/v1/services/cancer/versions?filename=m.txt", None, 400, "only a .skops"),
        ("POST", "/v1/services/cancer/versions?filename=m.skops", None, 422, "not a readable"),
        ("POST", "/v1/services/nope/versions?filename=m.skops", None, 404, "nope"),
        ("POST", "/v1/services/cancer/versions?filename=m.skops&config=x", None, 400, "KEY=VALUE"),
        ("POST", "/v1/services/cancer/versions?filename=m.skops&eval_dataset=no", None, 404, "no"),
    ]
    got = []
    for method, path, body, status, text in bad:
        r = httpx.request(method, server.url + path, json=body, headers=admin, timeout=10)
        if r.status_code != status or text not in r.json()["message"] + str(r.json()):
            got.append(f"{method} {path}: {r.status_code} {r.text[:300]}")
    assert not got, "\n".join(got)
