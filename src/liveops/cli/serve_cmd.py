"""``liveops serve``: the serving gateway (see docs/serving.md)."""

from __future__ import annotations

import json
import os
import tempfile

import typer

from liveops.cli.output import make_cli

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
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve every service whose production alias is set, until Ctrl-C."""
    import uvicorn

    cli = make_cli(ctx, False, None)
    options = {
        "project_dir": str(cli.project_dir),
        "max_batch_size": max_batch_size,
        "max_wait_ms": max_wait_ms,
        "max_queue": max_queue,
        "body_limit": body_limit,
        "poll_s": poll_s,
    }
    os.environ[ENV_OPTIONS] = json.dumps(options)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metric values here; /metrics sums them.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="liveops-metrics-")
    cli.note(f"liveops gateway on http://{host}:{port} ({workers} worker(s)); Ctrl-C stops it")
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


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
