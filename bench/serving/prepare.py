"""Everything the servers need before the first request: the demo folder, the peers' venvs,
the MLflow copy of the model, and the request bodies.

The peers live in their own venvs under ``bench/.venvs/`` (git-ignored), created on first use
with exact pins; scikit-learn, numpy and scipy are pinned to the project's own versions so
every server loads the very same fitted pipeline.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.serving.servers import HERE, Workspace

MLFLOW_PIN = "mlflow==3.17.2"
# 1.4.38, not the newest 1.4.x: 1.4.39+ require a certifi newer than this machine's index has.
BENTOML_PIN = "bentoml==1.4.38"
SHARED_PINS = ("scikit-learn", "numpy", "scipy")
BODY_SEED = 20261122  # the request messages: not the training seed, so they are unseen
N_BODIES = 2000

Say = Callable[[str], None]


def pins(*extra: str) -> list[str]:
    """Exact requirements: ``extra`` plus the project's scikit-learn, numpy and scipy."""
    return [*extra, *(f"{name}=={metadata.version(name)}" for name in SHARED_PINS)]


PEER_REQUIREMENTS: dict[str, list[str]] = {
    "mlflow": pins(MLFLOW_PIN),
    "bentoml": pins(BENTOML_PIN, f"skops=={metadata.version('skops')}"),
}


def ensure_venv(ws: Workspace, name: str, say: Say) -> Path:
    """Create ``bench/.venvs/NAME`` with its pinned requirements unless it already has them."""
    venv = ws.venvs / name
    marker = venv / "bench-requirements.txt"
    wanted = "\n".join(PEER_REQUIREMENTS[name]) + "\n"
    if marker.exists() and marker.read_text() == wanted:
        return venv
    say(f"creating {venv} with {' '.join(PEER_REQUIREMENTS[name])} (once; a few minutes)")
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    subprocess.run([*pip, *PEER_REQUIREMENTS[name]], check=True)
    marker.write_text(wanted)
    return venv


def venv_versions(ws: Workspace, name: str, packages: Sequence[str]) -> dict[str, str]:
    """Installed versions of ``packages`` in a peer venv."""
    code = (
        "import json, sys; from importlib import metadata; "
        "print(json.dumps({p: metadata.version(p) for p in sys.argv[1:]}))"
    )
    python = ws.venvs / name / "bin" / "python"
    out = subprocess.run([str(python), "-c", code, *packages], capture_output=True, text=True)
    return dict(json.loads(out.stdout)) if out.returncode == 0 else {}


def ensure_demo(ws: Workspace, say: Say) -> None:
    """A folder made by ``liveops demo`` (v1 in production), created on first use."""
    if ws.model.exists() and (ws.demo / "liveops.yaml").exists():
        return
    say(f"creating the demo folder {ws.demo} with `liveops demo` (once)")
    liveops = ws.python.parent / "liveops"
    subprocess.run([str(liveops), "demo", "--dir", str(ws.demo)], check=True, cwd=ws.work)


def liveops_key(ws: Workspace, say: Say) -> str:
    """A new predictor key in the demo folder for the benchmark's requests (printed once)."""
    say("making a predictor key for the benchmark (`liveops keys create bench`)")
    liveops = ws.python.parent / "liveops"
    made = subprocess.run(
        [str(liveops), "keys", "create", "bench", "--role", "predictor", "--owner", "bench"],
        check=True,
        cwd=ws.demo,
        capture_output=True,
        text=True,
    )
    return made.stdout.strip()


def load_v1(ws: Workspace) -> Any:
    import skops.io as sio

    return sio.load(str(ws.model), trusted=[])


def ensure_mlflow_model(ws: Workspace, say: Say) -> None:
    """Save v1 as an MLflow model: the same fitted steps, the text read from a DataFrame."""
    if (ws.mlflow_model / "MLmodel").exists():
        return
    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    say("saving the MLflow copy of v1 (once)")
    v1 = load_v1(ws)
    train = pd.read_csv(ws.demo / "data" / "support-train.csv", keep_default_na=False)
    # A TF-IDF refit on the same texts with the same settings learns the same vocabulary and
    # weights; the fitted classifier is v1's own. The check below proves the scores match.
    tfidf = ColumnTransformer([("tfidf", v1.named_steps["tfidf"], "text")])
    tfidf.fit(train[["text"]])
    pipeline = Pipeline([("features", tfidf), ("clf", v1.named_steps["clf"])])
    sample = train["text"].head(200).tolist()
    mine = pipeline.predict_proba(pd.DataFrame({"text": sample}))
    if not np.allclose(mine, v1.predict_proba(sample), atol=1e-9):
        raise RuntimeError("the MLflow copy of v1 does not give v1's scores")
    ws.work.mkdir(parents=True, exist_ok=True)
    pickled = ws.work / "v1-dataframe-pipeline.joblib"
    examples = ws.work / "mlflow-examples.json"
    joblib.dump(pipeline, pickled)
    examples.write_text(json.dumps(sample[:20]))
    python = ws.venvs / "mlflow" / "bin" / "python"
    script = HERE / "peer_mlflow_save.py"
    env_cmd = [str(python), str(script), str(pickled), str(examples), str(ws.mlflow_model)]
    subprocess.run(env_cmd, check=True, env=_quiet_mlflow_env())


def _quiet_mlflow_env() -> dict[str, str]:
    import os

    return {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def request_records(n: int = N_BODIES) -> list[dict[str, Any]]:
    """Realistic, varied support messages from the demo's generator (unseen in training)."""
    from liveops.demo.data import generate_records

    return generate_records(n, seed=BODY_SEED)


def body(fmt: str, record: dict[str, Any]) -> dict[str, Any]:
    """One request body in a server's own format, for one message."""
    if fmt == "liveops":
        fields = ("text", "channel", "plan", "language")
        return {"inputs": {k: record[k] for k in fields if record.get(k) is not None}}
    if fmt == "bentoml":
        return {"texts": [record["text"]]}
    if fmt == "mlflow":
        return {"dataframe_split": {"columns": ["text"], "data": [[record["text"]]]}}
    raise ValueError(f"unknown body format {fmt!r}")


def write_bodies(ws: Workspace, fmt: str, records: Sequence[dict[str, Any]]) -> Path:
    """The bodies file the Lua script reads: one compact JSON body per line."""
    path = ws.work / f"bodies-{fmt}.jsonl"
    lines = (json.dumps(body(fmt, r), ensure_ascii=False, separators=(",", ":")) for r in records)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
