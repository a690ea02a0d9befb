"""``liveops init [DIR]``: a commented ``liveops.yaml`` and suite to start a project from.

The scaffold must parse with the real parsers and be accepted by ``service apply`` as it is
(tests/cli/test_init_cli.py checks both), so a new user's first command succeeds.
"""

from __future__ import annotations

from pathlib import Path

import typer

from liveops.cli.output import JSON_OPT, print_json
from liveops.errors import ConflictError

PROJECT_TEMPLATE = """\
# liveops.yaml: the services of this project. `liveops service apply` validates this file
# (an unknown key is an error; messages name the line) and stores each service.
# Every key is described in the liveops docs (docs/project-file.md).

services:
  - name: {name}                   # lower-case letters, digits, '-', '_', '.'
    owner: you@example.com            # who answers for this service
    risk: medium                      # low | medium | high: decides later checks and approvals
    job:                              # in words: what the feature is for
      input: One loan application.
      output: Approve or refer, and how sure the model is.
      success: Applications are decided without a person re-checking the easy ones.

    # The request's fields, checked on every request (a violation answers 422).
    # Types: string (max_length), enum (values), integer and number (min, max), boolean.
    inputs:
      income:    {{type: number, required: true, min: 0}}
      age:       {{type: integer, min: 18, max: 120}}
      region:    {{type: enum, values: [north, south, east, west]}}
      # For a text model, declare the text instead, e.g.:
      # text:    {{type: string, required: true, max_length: 5000}}
    # The fields the model sees (default: all inputs); the others only slice reports.
    # A text pipeline takes exactly one field: model_inputs: [text]
    model_inputs: [income, age, region]

    output:
      labels: [approve, refer]        # the classes the model answers with
      confidence: true                # the model gives scores (predict_proba)

    # Copied into each version at registration; a version may override a key with
    # `liveops register ... --config threshold=0.8`.
    decision:
      threshold: 0.70                 # below it the answer is not automatic
      below_threshold: human_review   # human_review | fallback | abstain
      # fallback: rules               # rules, or a version such as {name}@1
      # rules: mypackage.rules:decide # module:function(inputs) -> label or None
      timeout_ms: 200                 # a slower model answer counts as a failure

    suite: suites/{name}.yaml      # what "good enough" means (`liveops eval`)
    # reference: {name}-train      # the dataset drift is measured against

    # Alert rules, judged by the monitor on every pass (docs/alerts.md). These defaults watch
    # health and quality; they tell nobody until you add `receivers: [oncall]` to them and
    # declare `oncall` under receivers: below (`liveops release show` says so too).
    alerts:
      - {{name: errors, metric: error_rate, above: 0.05, min_count: 20, for: 15m,
         severity: page}}
      - {{name: slow answers, metric: latency.p95_ms, above: 400, min_count: 20, for: 15m,
         severity: ticket}}
      - {{name: fallbacks, metric: fallback_rate, above: 0.2, min_count: 20, for: 30m,
         severity: ticket}}
      - {{name: quality drop, metric: accuracy, falls_by: 10, against: week, min_count: 200,
         window: 1h, for: 1h, severity: ticket}}
      # - {{name: income drift, metric: drift.income, above: 0.1, window: 1d, for: 1d,
      #    severity: info}}            # needs a reference dataset (reference: above)

    # serving: {{max_batch_size: 64, max_wait_ms: 1}}       # how `liveops serve` batches
    # logging: {{raw_inputs: false, raw_retention_days: 7}}  # what the prediction log keeps

# receivers:                          # where alerts go; secrets come from environment variables
#   oncall: {{webhook: {{url: https://hooks.example.com/liveops, secret_env: LIVEOPS_HOOK_SECRET}}}}
#   chat:   {{slack: {{url_env: SLACK_WEBHOOK_URL}}}}
#   pager:  {{alertmanager: http://127.0.0.1:9093}}
"""

SUITE_TEMPLATE = """\
# An evaluation suite for {name}: decide what "good enough" means before testing.
# `liveops eval {name}@N` runs it; docs/evaluation.md describes every key.

cases:
  # Register the cases first: liveops dataset add eval.csv --name {name}-eval
  dataset: {name}-eval
  expected: label                     # the column holding the right answer
  # scenarios:                        # named groups of cases, each reported on its own
  #   - {{name: young applicants, where: {{age: {{lt: 25}}}}}}
  # must_pass:
  #   dataset: {name}-must-pass    # every case must be answered as expected: a blocker

# Computed for every version; gates below may only name these.
metrics: [accuracy, macro_f1, per_class, log_loss, ece, coverage, selective_accuracy, latency]

slices:                               # parts of the data reported (and gated) on their own
  - {{name: north, where: {{region: north}}}}

gates:                                # kind: blocker | guardrail | goal | signal
  - {{metric: macro_f1, min: 0.80, kind: blocker}}          # fails the release
  - {{metric: accuracy, slice: north, not_worse_than: baseline, margin: 0.01, kind: guardrail}}
  - {{metric: accuracy, better_than: baseline, kind: goal}}  # what the new version is for
  - {{metric: ece, max: 0.05, kind: signal}}                 # reported, never blocks

# For a text model add perturbations (typos, casing, ...) and probes:
# robustness: {{perturbations: [typos, casing, punctuation, whitespace], seed: 7}}
# probes:
#   - name: a card number never gets an automatic answer
#     inputs: {{text: "my card 4111 1111 1111 1111"}}
#     expect: {{decision: [fallback, human_review]}}
"""


def scaffold(name: str) -> dict[str, str]:
    """The files of a new project (relative path -> text) for a service called ``name``."""
    return {
        "liveops.yaml": PROJECT_TEMPLATE.format(name=name),
        f"suites/{name}.yaml": SUITE_TEMPLATE.format(name=name),
    }


def init(
    folder: Path = typer.Argument(Path("."), help="Where to start the project (default: here)."),
    service: str = typer.Option("my-service", "--service", help="The first service's name."),
    force: bool = typer.Option(False, "--force", help="Overwrite files that already exist."),
    json: bool = JSON_OPT,
) -> None:
    """Start a project: a commented liveops.yaml and an evaluation suite to edit."""
    from rich.console import Console

    from liveops.core.names import check_name

    check_name(service, "service")
    folder = folder.resolve()
    files = {folder / rel: text for rel, text in scaffold(service).items()}
    existing = [p for p in files if p.exists()]
    if existing and not force:
        raise ConflictError(
            "would overwrite " + ", ".join(str(p) for p in existing),
            hint="keep them (edit them instead), or pass --force to replace them",
        )
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    where = "" if folder == Path.cwd().resolve() else f"cd {folder} && "
    steps = [
        f"{where}$EDITOR liveops.yaml suites/{service}.yaml",
        "liveops service apply",
        f"liveops register {service} --artifact model.skops",
        f"liveops dataset add eval.csv --name {service}-eval",
        f"liveops eval {service}@1",
    ]
    if json:
        print_json({"folder": str(folder), "files": [str(p) for p in files], "next": steps})
        return
    out = Console(highlight=False)
    for path in files:
        out.print(f"created {path}")
    out.print("next:")
    for step in steps:
        out.print(f"  {step}")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
