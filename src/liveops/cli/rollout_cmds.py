"""``liveops rollout start|run|status|plan|pause|resume|abort`` and ``liveops rollback``.

Exit codes (docs/conventions.md): a refused action (a second rollout of a service, a version
without a passing evaluation and no approved override, a gate the controller cannot count, a
pause of a rollout that ended) is an error, 4, with the reason: nothing was written. ``run
--once`` exits 1 when a rollout it looked at rolled back, else 0.
"""

from __future__ import annotations

import time
from typing import Any

import typer
from rich.table import Table

from liveops.cli.output import AS_OPT, JSON_OPT, make_cli, wire

rollout_app = typer.Typer(
    help="Rollouts: shadow and canary steps (or an A/B split) judged by peek-safe gates, with "
    "automatic rollback."
)
REASON_OPT = typer.Option(None, "--reason", help="Why (kept in the audit log).")


def _table(rows: list[dict[str, object]]) -> Table:
    t = Table("id", "version", "baseline", "state", "step", "started", "by", "reason")
    for r in rows:
        t.add_row(
            str(r["id"]),
            f"{r['service']}@{r['version']}",
            str(r["baseline"]),
            str(r["state"]),
            f"{int(str(r['step'])) + 1}/{len(r['steps'])}: {r['current_step']}",  # type: ignore[arg-type]
            str(r["started_at"])[:19],
            str(r["started_by"]),
            str(r["reason"] or ""),
        )
    return t


def _gates(gates: list[dict[str, object]]) -> Table:
    t = Table("gate", "verdict", "estimate", "interval", "n candidate", "n baseline")
    for g in gates:
        lo, hi = g.get("lower"), g.get("upper")
        est = g.get("estimate")
        t.add_row(
            str(g["gate"]),
            str(g["verdict"]),
            "" if est is None else f"{est:+.4f}",
            "" if lo is None or hi is None else f"[{lo:+.4f}, {hi:+.4f}]",
            str(g.get("n_candidate", "")),
            str(g.get("n_baseline", "")),
        )
    return t


@rollout_app.command("start")
def start(
    ctx: typer.Context,
    version: str = typer.Argument(..., help="SERVICE@N: the candidate."),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Start rolling out a version against production, by the service's rollout plan (or its
    release's). Refused without a passing evaluation (or an approved override)."""
    from liveops.services.rollouts import start_rollout

    cli = make_cli(ctx, json, as_, remote=True)
    if cli.api is not None:
        rec = cli.api.call("POST", "/v1/rollouts", {"version": version})
    else:
        rec = wire(start_rollout(cli.store(), cli.project_dir, version, actor=cli.actor).to_dict())
    if not json:
        if rec.get("mode") == "ab":
            plan = rec.get("plan") or {}
            goals = ", ".join(
                str(g.get("metric")) + (f"[{g['slice']}]" if g.get("slice") else "")
                for g in plan.get("goals", [])
            )
            share = float(plan.get("split") or 0.0) * 100
            seconds = float(plan.get("duration") or 0.0)
            where = f"A/B at {share:g}% for {seconds:.0f} s, goals {goals}"
        else:
            where = f"step 1 of {len(rec['steps'])} ({rec['current_step']})"
        cli.note(
            f"rollout {rec['id']}: {rec['service']}@{rec['version']} against "
            f"{rec['service']}@{rec['baseline']}, {where}; the controller runs in "
            "`liveops serve --rollouts` or `liveops rollout run`"
        )
    cli.emit(rec, _table([rec]))


@rollout_app.command("run")
def run(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="One look at each active rollout, then exit."),
    every: str = typer.Option("60s", "--every", help="Time between looks, e.g. 60s or 5m."),
    service: str | None = typer.Option(None, "--service", help="Only this service's rollout."),
    json: bool = JSON_OPT,
) -> None:
    """The controller: look at every active rollout, advance, hold or roll back."""
    from liveops.services.monitoring import parse_every
    from liveops.services.rollouts import run_rollouts

    cli = make_cli(ctx, json, None)
    seconds = parse_every(every, flag="--every")
    store = cli.store()
    rolled_back = False
    while True:
        turn = run_rollouts(store, cli.project_dir, service=service)
        if json:
            cli.emit(turn.to_dict())
        elif turn.skipped:
            cli.note(f"skipped: {turn.skipped}")
        else:
            if not turn.looks:
                cli.note("no active rollout to look at")
            for r in turn.looks:
                cli.note(f"{r.rollout.id} {r.rollout.ref}: {r.look.action}: {r.look.detail}")
                if r.look.gates:
                    cli.out.print(_gates(list(r.look.gates)))  # type: ignore[arg-type]
            for e in turn.errors:
                cli.note(f"error: {e}")
        rolled_back |= any(r.look.action == "abort" for r in turn.looks)
        if once:
            break
        time.sleep(seconds)
    raise typer.Exit(1 if rolled_back else 0)


@rollout_app.command("status")
def status(
    ctx: typer.Context,
    which: str | None = typer.Argument(None, help="A service or rollout id (default: all)."),
    looks: int = typer.Option(5, "--looks", min=0, help="How many recent looks to show."),
    json: bool = JSON_OPT,
) -> None:
    """Rollouts (newest first), or one with its latest looks and gate values."""
    from liveops.services.rollouts import rollout_status

    cli = make_cli(ctx, json, None, remote=True)
    if which is None:
        if cli.api is not None:
            rows = cli.api.rollouts()
        else:
            rows = wire([r.to_dict() for r in cli.store().rollouts.list_rollouts()])
        cli.emit(rows, _table(rows) if rows else "no rollouts yet")
        return
    if cli.api is not None:
        data = cli.api.rollout(which, looks)
    else:
        data = wire(rollout_status(cli.store(), which, looks=looks))
    if json:
        cli.emit(data)
        return
    cli.out.print(_table([data]))
    incident = data["incident"]
    if incident is not None:
        cli.out.print(f"incident {incident} (its rollback): `liveops incident show {incident}`")
    if data.get("shadow") is not None:
        cli.out.print(_shadow_line(data["shadow"]))
    if data.get("ab") is not None:
        cli.out.print(_ab_table(data["ab"]))
    for lk in data["looks"]:
        cli.out.print(f"look {lk['seq']} at {lk['at'][:19]}: {lk['action']}: {lk['detail']}")
    if data["looks"] and data["looks"][0]["gates"]:
        cli.out.print(_gates(data["looks"][0]["gates"]))


def _ab_table(ab: dict[str, Any]) -> Table:
    """The A/B goals of the latest look: both arms, the difference (candidate - control) with
    its fixed-horizon 95 % interval, the answers per arm against the planned sample."""
    when = (
        "final"
        if ab.get("final")
        else f"interim, {ab['elapsed_s']:.0f} of {ab['duration_s']:.0f} s"
    )
    t = Table(
        "goal", "control", "candidate", "difference", "95% interval", "answers (control / cand.)",
        "planned per arm", "result", title=f"A/B goals ({when})",
    )  # fmt: skip

    def num(v: Any, fmt: str) -> str:
        return "" if v is None else format(v, fmt)

    for g in ab.get("goals", []):
        lo, hi = g.get("lower"), g.get("upper")
        planned = g.get("planned_per_arm")
        t.add_row(
            str(g["goal"]),
            num(g.get("control"), ".4f"),
            num(g.get("candidate"), ".4f"),
            num(g.get("difference"), "+.4f"),
            "" if lo is None or hi is None else f"[{lo:+.4f}, {hi:+.4f}]",
            f"{g['n_baseline']:,} / {g['n_candidate']:,}",
            "n/a"
            if planned is None
            else f"{planned:,}" + (" (reached)" if g["sample_reached"] else ""),
            str(g["result"]) if ab.get("final") else f"({g['result']}, interim)",
        )
    return t


def _shadow_line(shadow: dict[str, Any]) -> str:
    """The shadow pairs' agreement of the latest look that counted them, and their review."""
    if not shadow.get("pairs"):
        head = "shadow agreement: no pairs yet"
    else:
        head = f"shadow agreement: {shadow['agreement']:.1%} of {shadow['pairs']:,} pairs"
    slices = [
        f"{name} {v['agreement']:.1%} of {v['pairs']:,}"
        for name, v in shadow.get("slices", {}).items()
        if v.get("pairs")
    ]
    if slices:
        head += f" ({'; '.join(slices)})"
    if shadow.get("unpaired"):
        head += f"; {shadow['unpaired']:,} unpaired"
    review = shadow.get("review")
    if review:
        head += (
            f"\ndisagreements for review: {review['review']} ({review['items']} of at most "
            f"{review['cap']} sampled): `liveops review next --review {review['review']}`"
        )
    return head


@rollout_app.command("plan")
def plan(
    ctx: typer.Context,
    service: str = typer.Argument(..., help="The service."),
    mde: float = typer.Option(
        ..., "--mde", help="The smallest difference to detect, absolute: 0.02 is two points."
    ),
    metric: str = typer.Option(
        "accuracy",
        "--metric",
        help="A share of answers to compare: accuracy, error_rate, ..., outcome.NAME.rate.",
    ),
    baseline: float | None = typer.Option(
        None, "--baseline", help="The baseline rate (default: production's recent live value)."
    ),
    alpha: float = typer.Option(0.05, "--alpha", help="Two-sided significance level."),
    power: float = typer.Option(0.8, "--power", help="Chance of detecting a true mde."),
    split: float | None = typer.Option(
        None, "--split", help="The candidate's share of traffic (default: the A/B plan's, or 0.5)."
    ),
    days: float = typer.Option(7.0, "--days", help="Look-back for the traffic, in days."),
    json: bool = JSON_OPT,
) -> None:
    """Answers per arm a fixed-split A/B test needs to detect --mde, and the days it takes."""
    from liveops.services.rollouts import size_ab_test

    cli = make_cli(ctx, json, None)
    got = size_ab_test(cli.store(), service, mde=mde, metric=metric, baseline=baseline,
                       alpha=alpha, power=power, split=split, days=days)  # fmt: skip
    p = got.plan
    what = "labelled answers" if got.labelled else "answers"
    lines = [
        f"{service}: {metric} {p.baseline:.4g} ({got.baseline_source}), detect a change of "
        f"{p.mde:g} two-sided at alpha {p.alpha:g}, power {p.power:g}, split "
        f"{p.split:g} candidate / {1 - p.split:g} baseline",
        f"  candidate arm: {p.candidate_n:,} {what}; baseline arm: {p.baseline_n:,} {what}",
    ]
    if p.days is None:
        lines.append(
            f"  traffic: no live answers{' with labels' if got.labelled else ''} in the "
            f"monitor's windows (last {days:g} days): cannot say how long it takes"
        )
    else:
        per_day = p.answers_per_day or 0.0
        cover = f", {p.coverage:.0%} labelled" if got.labelled else ""
        lines.append(
            f"  traffic: {per_day:,.0f} answers a day{cover} ({got.answers:,} answers over "
            f"{got.span_days:.1f} days): about {p.days:.1f} days"
        )
    cli.emit(got.to_dict(), "\n".join(lines))


def _act(
    ctx: typer.Context, which: str, json: bool, as_: str | None, verb: str, reason: str | None
) -> None:
    from liveops.services import rollouts

    cli = make_cli(ctx, json, as_, remote=True)
    if cli.api is not None:
        rec = cli.api.rollout_action(which, verb, reason)
    else:
        fn = {
            "pause": rollouts.pause_rollout,
            "resume": rollouts.resume_rollout,
            "abort": rollouts.abort_rollout,
        }[verb]
        rec = wire(fn(cli.store(), which, actor=cli.actor, reason=reason).to_dict())
    if not json:
        cli.note(f"rollout {rec['id']} of {rec['service']}@{rec['version']}: {rec['state']}")
    cli.emit(rec, _table([rec]))


@rollout_app.command("pause")
def pause(
    ctx: typer.Context,
    which: str = typer.Argument(..., help="A service or rollout id."),
    reason: str | None = REASON_OPT,
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Stop the controller acting; the traffic stays split as it is."""
    _act(ctx, which, json, as_, "pause", reason)


@rollout_app.command("resume")
def resume(
    ctx: typer.Context,
    which: str = typer.Argument(..., help="A service or rollout id."),
    reason: str | None = REASON_OPT,
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Hand a paused or held rollout back to the controller."""
    _act(ctx, which, json, as_, "resume", reason)


@rollout_app.command("abort")
def abort(
    ctx: typer.Context,
    which: str = typer.Argument(..., help="A service or rollout id."),
    reason: str | None = REASON_OPT,
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """End it: every request goes to production (the baseline) at the gateways' next poll."""
    _act(ctx, which, json, as_, "abort", reason)


def rollback_cmd(
    ctx: typer.Context,
    service: str = typer.Argument(..., help="The service."),
    to: int | None = typer.Option(
        None, "--to", help="The version to restore (default: production before it last moved)."
    ),
    reason: str | None = REASON_OPT,
    drill: bool = typer.Option(
        False, "--drill", help="Practise on a staging gateway (--url): production is untouched."
    ),
    url: str | None = typer.Option(
        None, "--url", help="With --drill: a gateway serving the staging alias."
    ),
    input_: str | None = typer.Option(
        None,
        "--input",
        help="With --drill: the request's inputs as JSON (default: an "
        "evaluation case of the restored version).",
    ),
    timeout: float = typer.Option(
        60.0, "--timeout", help="With --drill: seconds to wait for each move to show."
    ),
    json: bool = JSON_OPT,
    as_: str | None = AS_OPT,
) -> None:
    """Production back to an earlier version in one step, with no analysis; an active rollout
    of the service ends as rolled_back. The evidence (log, looks, gate values) stays, and an
    incident of the service is opened (or its open one joined) with it. With --drill, the
    same move practised on the staging alias and timed at a staging gateway (exit 1 when the
    gateway did not show it within --timeout)."""
    from liveops.errors import UsageError
    from liveops.services.rollouts import rollback

    if drill or url is not None or input_ is not None:
        if not drill or url is None:
            raise UsageError(
                "--drill needs --url (a gateway serving the staging alias), and --url and "
                "--input go with --drill",
                hint=f"`liveops rollback {service} --drill --url http://127.0.0.1:8001`",
            )
        _drill(ctx, service, url, to, input_, timeout, reason, json, as_)
        return
    cli = make_cli(ctx, json, as_, remote=True)
    if cli.api is not None:
        done = cli.api.rollback(service, to, reason)
    else:
        done = wire(rollback(cli.store(), service, to=to, actor=cli.actor, reason=reason).to_dict())
    if not json:
        ended = f"; rollout {done['rollout']} ended (rolled_back)" if done["rollout"] else ""
        cli.note(f"{service}: production {done['from']} -> {done['to']}{ended}")
        cli.note(f"incident {done['incident']}: `liveops incident show {done['incident']}`")
    cli.emit(done, f"{service}@production = {done['to']}")


def _drill(
    ctx: typer.Context,
    service: str,
    url: str,
    to: int | None,
    input_: str | None,
    timeout: float,
    reason: str | None,
    json: bool,
    as_: str | None,
) -> None:
    import os

    import orjson

    from liveops.core.exits import exit_code
    from liveops.errors import UsageError
    from liveops.services.rollouts import rollback_drill

    inputs = None
    if input_ is not None:
        try:
            inputs = orjson.loads(input_)
        except orjson.JSONDecodeError as exc:
            raise UsageError(f"--input is not JSON: {exc}") from None
        if not isinstance(inputs, dict):
            raise UsageError('--input is a JSON object of inputs, e.g. {"text": "hello"}')
    cli = make_cli(ctx, json, as_)
    got = rollback_drill(
        cli.store(), service, url, actor=cli.actor, project_dir=cli.project_dir, to=to,
        inputs=inputs, timeout_s=timeout, key=os.environ.get("LIVEOPS_KEY") or None,
        reason=reason,
    )  # fmt: skip

    def took(s: float | None) -> str:
        return f"{s:.2f} s" if s is not None else f"not within {timeout:g} s"

    lines = [
        f"{service}: drill on staging at {url}: staging {got.staging} -> {got.restored} "
        f"answered after {took(got.restore_s)}",
        f"  and back to {got.staging} after {took(got.return_s)} ({got.requests} requests); "
        "recorded in the audit log (service.rollback_drill)",
    ]
    cli.emit(got.to_dict(), "\n".join(lines))
    raise typer.Exit(exit_code(["pass" if got.passed else "fail"]))


def register(app: typer.Typer) -> None:
    app.add_typer(rollout_app, name="rollout")
    app.command("rollback")(rollback_cmd)
