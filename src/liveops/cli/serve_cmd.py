"""``liveops serve``: the serving gateway (see docs/serving.md)."""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import signal
import socket
import tempfile
from types import FrameType
from typing import TYPE_CHECKING

import typer

from liveops.cli.output import Cli, make_cli
from liveops.errors import LiveopsError, StoreUnavailableError, UsageError

if TYPE_CHECKING:
    from liveops.services.alerts import OutboxSender
    from liveops.services.monitoring import MonitorRunner
    from liveops.services.rollouts import RolloutRunner

ENV_OPTIONS = "LIVEOPS_SERVE_OPTIONS"  # read by liveops.server.app:app_from_env in each worker


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
    max_batch_size: int | None = typer.Option(
        None, "--max-batch-size", min=1, help="Records per model call (default: serving block)."
    ),
    max_wait_ms: float | None = typer.Option(
        None, "--max-wait-ms", min=0, help="How long a request waits to share a model call."
    ),
    max_queue: int | None = typer.Option(
        None, "--max-queue", min=1, help="Records waiting per version before 429."
    ),
    body_limit: int = typer.Option(1_000_000, "--body-limit", min=1, help="Largest body, bytes."),
    poll_s: float = typer.Option(
        0.5, "--poll-s", min=0.05, help="How often aliases and kill switches are re-read."
    ),
    tick_s: float = typer.Option(
        10.0, "--tick-s", min=0.05, help="Heartbeat interval (a gateway_ticks row each)."
    ),
    allow_time_override: bool = typer.Option(
        False,
        "--allow-time-override",
        help="Let requests carry their time (X-Liveops-Time) for replays; loopback only.",
    ),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
    monitor_every: str | None = typer.Option(
        None,
        "--monitor-every",
        help="Also run the monitor (and retention) this often, e.g. 60s; one runner at a time "
        "across gateways.",
    ),
    rollouts: bool = typer.Option(
        False,
        "--rollouts",
        help="Also run the rollout controller (one leader across gateways; see docs/rollouts.md).",
    ),
    rollout_every: str = typer.Option(
        "60s", "--rollout-every", help="Time between the controller's looks (with --rollouts)."
    ),
    send_alerts: bool = typer.Option(
        True,
        "--send-alerts/--no-send-alerts",
        help="Deliver the alert outbox to its receivers in the background; one sender at a "
        "time across gateways (off: `liveops alerts send` or another gateway delivers).",
    ),
    send_alerts_every: str = typer.Option(
        "5s", "--send-alerts-every", help="How often the sender looks for notifications."
    ),
    alias: str = typer.Option(
        "production", "--alias", help="The alias to serve (staging: a release's smoke test)."
    ),
    no_auth: bool = typer.Option(
        False,
        "--no-auth",
        help="Take requests without an API key: refused unless --host is a loopback address.",
    ),
    key_rate: float | None = typer.Option(
        None, "--key-rate", min=0.001, help="Requests per second per key (default: no limit)."
    ),
    key_burst: float | None = typer.Option(
        None, "--key-burst", min=1, help="Requests a key may send at once (default: --key-rate)."
    ),
) -> None:
    """Serve every service whose production alias (or --alias) is set, until Ctrl-C."""
    import uvicorn

    from liveops.core.names import check_name

    check_name(alias, "alias")
    cli = make_cli(ctx, False, None)
    if no_auth and not is_loopback(host):
        raise UsageError(
            f"--no-auth is refused on {host}: without keys anyone who reaches the port could "
            "predict, read the log and flip the kill switch; only a loopback address may",
            hint="create keys (`liveops keys create NAME --role ROLE --owner PERSON`) and leave "
            "out --no-auth, or serve on --host 127.0.0.1",
        )
    if allow_time_override and not is_loopback(host):
        # Even behind admin keys: a replay rewrites the log's timeline; keep it on one machine.
        raise UsageError(
            f"--allow-time-override is refused on {host}: only a loopback address may take a "
            "request's time, since a caller could then write answers into the past",
            hint="serve the replay on --host 127.0.0.1 (or ::1), or leave out "
            "--allow-time-override",
        )
    runner = _monitor_runner(cli, monitor_every) if monitor_every else None
    controller = _rollout_runner(cli, rollout_every) if rollouts else None
    sender = _alert_sender(cli, send_alerts_every) if send_alerts else None
    _check_port(host, port)
    _report_services(cli, alias)
    _report_auth(cli, not no_auth, allow_time_override)
    options = {
        "announce": True,
        "project_dir": str(cli.project_dir),
        "max_batch_size": max_batch_size,
        "max_wait_ms": max_wait_ms,
        "max_queue": max_queue,
        "body_limit": body_limit,
        "poll_s": poll_s,
        "tick_s": tick_s,
        "allow_time_override": allow_time_override,
        "alias": alias,
        "auth": not no_auth,
        "key_rate": key_rate,
        "key_burst": key_burst,
    }
    os.environ[ENV_OPTIONS] = json.dumps(options)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metric values here; /metrics sums them.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="liveops-metrics-")
    cli.note(f"liveops gateway on http://{host}:{port} ({workers} worker(s)); Ctrl-C stops it")
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the
    # handler it found: make that ours, so a requested stop ends with exit 0 and one line
    # (not the default SIGTERM death or a KeyboardInterrupt), also before uvicorn is up.
    previous = {sig: signal.signal(sig, _stop_requested) for sig in STOP_SIGNALS}
    if runner is not None:
        runner.start()
        cli.note(f"monitor every {runner.every_s:g} s (`liveops monitor status` shows it)")
    if controller is not None:
        controller.start()
        cli.note(
            f"rollout controller every {controller.every_s:g} s (`liveops rollout status` shows it)"
        )
    if sender is not None:
        sender.start()
        cli.note(
            f"alert notifications sent every {sender.every_s:g} s (`liveops alerts outbox` "
            "shows them)"
        )
    else:
        cli.note("alert notifications are not sent by this gateway (--no-send-alerts)")
    try:
        uvicorn.run(
            "liveops.server.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            access_log=False,
            log_level=log_level,
            timeout_graceful_shutdown=5,
        )
    except _Stopped as stop:
        cli.note(f"liveops gateway stopped ({signal.Signals(stop.signum).name})")
        return
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if runner is not None:
            runner.stop()
        if controller is not None:
            controller.stop()
        if sender is not None:
            sender.stop()
    cli.note("liveops gateway stopped")


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _monitor_runner(cli: Cli, every: str) -> MonitorRunner:
    """The background monitor of this serving process (its own store connections)."""
    from liveops.services.monitoring import MonitorRunner, parse_every
    from liveops.store import open_store

    seconds = parse_every(every)
    project_dir = cli.project_dir
    return MonitorRunner(
        lambda: open_store(project_dir=project_dir), seconds, project_dir=project_dir
    )


def _rollout_runner(cli: Cli, every: str) -> RolloutRunner:
    """The rollout controller of this serving process (its own store connections)."""
    from liveops.services.monitoring import parse_every
    from liveops.services.rollouts import RolloutRunner
    from liveops.store import open_store

    seconds = parse_every(every, flag="--rollout-every")
    project_dir = cli.project_dir
    return RolloutRunner(lambda: open_store(project_dir=project_dir), seconds, project_dir)


def _alert_sender(cli: Cli, every: str) -> OutboxSender:
    """The background alert sender of this serving process (its own store connection)."""
    from liveops.services.alerts import OutboxSender
    from liveops.services.monitoring import parse_every
    from liveops.store import open_store

    try:
        seconds = parse_every(every)
    except UsageError:
        raise UsageError(
            f"--send-alerts-every {every!r} is not a positive duration",
            hint="e.g. --send-alerts-every 5s (or 500ms, 1m)",
        ) from None
    project_dir = cli.project_dir
    return OutboxSender(lambda: open_store(project_dir=project_dir), seconds)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``localhost`` counts).

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Stopped(BaseException):
    """A stop was asked for (Ctrl-C or SIGTERM); not an error."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop_requested(signum: int, frame: FrameType | None) -> None:
    raise _Stopped(signum)


def _check_port(host: str, port: int) -> None:
    """Fail before saying we listen: binding the way uvicorn will is the only honest test."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise LiveopsError(
                    f"port {port} on {host} is already in use (another gateway or program "
                    "listens there)",
                    hint=f"pick another port: liveops serve --port {port + 1}; or stop what "
                    f"listens on it (`ss -ltnp 'sport = :{port}'` shows it)",
                ) from None
            raise LiveopsError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                hint="check --host (an address of this machine) and --port (1024-65535 "
                "needs no privileges)",
            ) from None


def _report_services(cli: Cli, alias: str = "production") -> None:
    """Say at start which services will be served (and with which version) and which cannot,
    and why; each worker then says what it loaded and what it could not (see app.py)."""
    from rich.markup import escape

    from liveops.services.serving import read_services

    try:
        store = cli.store()
    except StoreUnavailableError as exc:
        # The gateway starts all the same and loads once the database answers.
        cli.note(f"cannot list the services yet: {escape(exc.message)}")
        return
    try:
        services = read_services(store, alias=alias)
    finally:
        store.close()
    serving = 0
    for name, svc in sorted(services.items()):
        if svc.disabled:
            cli.note(f"not serving {escape(name)}: switched off (`liveops service enable {name}`)")
        elif svc.production is None:
            cli.note(
                f"not serving {escape(name)}: no {alias} alias "
                f"(`liveops alias set {name} {alias} N`)"
            )
        else:
            serving += 1
            cli.note(f"loading {escape(name)}@{svc.production} ({alias})")
    if not serving:
        cli.note(
            f"nothing to serve yet: services are picked up once they have a {alias} alias"
            if services
            else "nothing to serve yet: no services applied (`liveops service apply`)"
        )


def _report_auth(cli: Cli, auth: bool, time_override: bool) -> None:
    """Say whether requests need keys, and how to get one when none exists yet."""
    if not auth:
        cli.note("no API keys needed (--no-auth, loopback only)")
        return
    try:
        store = cli.store()
    except StoreUnavailableError:
        return
    try:
        now = store.clock.now()
        live = [k for k in store.keys.records() if k.active(now)]
    finally:
        store.close()
    if not live:
        cli.note(
            "requests need an API key and none exists yet: `liveops keys create NAME --role "
            "predictor --owner PERSON` prints one (docs/access.md)"
        )
    else:
        cli.note(f"requests need an API key ({len(live)} active; `liveops keys list`)")
    if time_override:
        cli.note("X-Liveops-Time is taken from admin keys only")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
