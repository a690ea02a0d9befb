"""A second process that answers robustness families beside the evaluating one.

Perturbing every case with nine families and predicting the copies is most of an evaluation's
work, and it is pure Python plus a CPU-bound model: one process uses one core. A
:class:`FamilyHelper` is a fresh interpreter (a new interpreter, never a ``fork``: a forked copy
of a process with OpenMP or BLAS threads can hang) that opens the same store, loads the same
version's model and then takes families one at a time. It starts while the evaluating process
is still loading its own data and model, so its start-up costs no wall time on a machine with
a spare core.

Both processes compute a family with the same function, :func:`family_answers` (each family
has its own seeded generator, so the copies do not depend on who computes them): a run with a
helper stores exactly what a run without one stores. A helper that fails to start or dies only
costs speed: its family is computed again locally.

Only artifact models (skops, joblib) get a helper: an entry-point model may call a paid API or
hold state that a second copy must not share.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from liveops.core.model import Model
from liveops.core.perturb import perturb_all
from liveops.services.eval_predict import predict

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["FamilyAnswer", "FamilyHelper", "FamilySpec", "family_answers", "helper_wanted"]

ENV_WORKERS = "LIVEOPS_EVAL_WORKERS"
_ENV_ARGS = "LIVEOPS_EVAL_HELPER_ARGS"  # the database URL may hold a password: not in argv


@dataclass(frozen=True)
class FamilySpec:
    """What computing a family needs besides the cases and the model."""

    seed: int
    text_field: str
    optional_fields: tuple[str, ...]
    model_inputs: tuple[str, ...]


FamilyAnswer = tuple[list[int], list[str | None], list[str | None]]  # changed rows, labels, errors


def family_answers(
    model: Model, records: Sequence[Mapping[str, Any]], family: str, spec: FamilySpec
) -> FamilyAnswer:
    """Perturb ``records`` with ``family`` and answer the copies whose model inputs changed
    (the others keep the original answer: the model would see the same thing)."""
    copies = perturb_all(
        records,
        [family],
        spec.seed,
        text_field=spec.text_field,
        optional_fields=list(spec.optional_fields),
    )[family]
    changed = [
        i
        for i, (a, b) in enumerate(zip(records, copies, strict=True))
        if any(a.get(f) != b.get(f) for f in spec.model_inputs)
    ]
    if not changed:
        return [], [], []
    got = predict(model, [copies[i] for i in changed])
    return changed, got.labels, got.errors


def helper_wanted(artifact_format: str, url: str, cases: int) -> bool:
    """Whether a helper process pays off: an artifact model, a database another process can
    open, enough cases, and a spare core (``LIVEOPS_EVAL_WORKERS=0`` turns it off)."""
    setting = os.environ.get(ENV_WORKERS)
    if setting is not None and setting.strip() in ("0", "false", "no", "off"):
        return False
    if artifact_format not in ("skops", "joblib") or cases < 200:
        return False
    if url.startswith("sqlite") and (url in ("sqlite://", "sqlite:///:memory:")):
        return False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) > 1


class FamilyHelper:
    """One helper process; every method is safe to call after the helper failed."""

    def __init__(self, url: str, artifacts_root: str, project_dir: str, ref: str) -> None:
        import socket
        import sys
        from multiprocessing.connection import Connection

        # A plain child interpreter on one end of a socket pair, not multiprocessing's spawn:
        # spawn imports the parent's main module again, which runs a user's unguarded script.
        ours, theirs = socket.socketpair()
        self._conn = Connection(ours.detach())
        self._ready = False
        self._busy: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        code = "import sys; from liveops.services.eval_pool import _child; _child()"
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", code, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # --json output stays the parent's alone
                stderr=subprocess.DEVNULL,  # a failure comes back as a message, or as EOF
                env={
                    **os.environ,
                    "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),  # same imports
                    _ENV_ARGS: "\x1f".join((url, artifacts_root, project_dir, ref)),
                },
            )
        except OSError:
            self._proc = None
        theirs.close()

    @property
    def alive(self) -> bool:
        return self._proc is not None

    @property
    def busy(self) -> str | None:
        """The family the helper is computing, if any."""
        return self._busy

    def ready(self) -> bool:
        """Whether the helper has loaded its model and is idle (never blocks)."""
        if self._proc is None or self._busy is not None:
            return False
        if not self._ready:
            message = self._receive(block=False)
            if message is not None and message[0] == "ready":
                self._ready = True
            elif message is not None:
                self._fail()
        return self._ready

    def send_cases(self, records: Sequence[Mapping[str, Any]], spec: FamilySpec) -> None:
        self._send(("cases", list(records), spec))

    def start_family(self, family: str) -> None:
        if self._send(("family", family)):
            self._busy = family

    def result(self, *, block: bool) -> tuple[str, FamilyAnswer] | None:
        """The busy family's answer once it is there; None while it is not (or on failure,
        after which :attr:`alive` is False and the family must be computed locally)."""
        if self._busy is None:
            return None
        message = self._receive(block=block)
        if message is None:
            return None
        family, self._busy = self._busy, None
        if message[0] != "done":
            self._fail()
            return None
        return family, message[1]

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(("stop",))
        try:
            proc.wait(2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(2)
        self._conn.close()

    # --- internals ----------------------------------------------------------------------

    def _send(self, message: tuple[Any, ...]) -> bool:
        if self._proc is None:
            return False
        try:
            self._conn.send(message)
            return True
        except (OSError, ValueError):
            self._fail()
            return False

    def _receive(self, *, block: bool) -> tuple[Any, ...] | None:
        if self._proc is None:
            return None
        try:
            if not block and not self._conn.poll():
                return None
            message: tuple[Any, ...] = self._conn.recv()
            return message
        except (EOFError, OSError):
            self._fail()
            return None

    def _fail(self) -> None:
        self._busy = None
        self.close()


def _child() -> None:
    """The helper process's entry point: the socket's descriptor is its one argument."""
    import sys
    from multiprocessing.connection import Connection

    conn = Connection(int(sys.argv[1]))
    url, artifacts_root, project_dir, ref = os.environ.pop(_ENV_ARGS).split("\x1f")
    try:
        _serve(conn, url, artifacts_root, project_dir, ref)
    finally:
        conn.close()


def _serve(conn: Connection, url: str, artifacts_root: str, project_dir: str, ref: str) -> None:
    """The helper's main loop."""
    from pathlib import Path

    from liveops.services.models import load_model
    from liveops.services.registry import resolve_version
    from liveops.store import open_store

    try:
        store = open_store(url, artifacts_root=Path(artifacts_root), upgrade=False)
        model = load_model(store, resolve_version(store, ref), project_dir=Path(project_dir))
        store.close()
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready",))
    records: list[Mapping[str, Any]] = []
    spec: FamilySpec | None = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the evaluating process is gone
        if message[0] == "stop":
            return
        if message[0] == "cases":
            records, spec = message[1], message[2]
            continue
        try:
            assert spec is not None, "family before cases"
            conn.send(("done", family_answers(model, records, message[1], spec)))
        except Exception as exc:
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))
