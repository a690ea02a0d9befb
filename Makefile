# Two set-up commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint lock bench bench-eval bench-monitor bench-rollout bench-rollout-load bench-serving bench-drift bench-tools clean

# Installs come from the lock files (exact pins of everything, generated from pyproject.toml's
# ranges by `make lock`), then liveops itself with --no-deps: every machine and CI get the same
# versions, and pip alone is enough to install them.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $@

$(VENV)/.dev-installed: pyproject.toml requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check  # a lock that no longer satisfies pyproject.toml: run `make lock`
	touch $(VENV)/.installed $@

# Regenerate both lock files from pyproject.toml with uv (pinned in requirements-dev.lock):
# uv's resolver is fast, well kept, writes pip-installable requirements files, resolves for
# every platform at once (--universal) and is the same tool the oldest-versions test uses for
# `--resolution lowest-direct`. UPGRADE=1 moves every pin to the newest release in range.
LOCK := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)
# The runtime lock is constrained by the dev lock, so the demo and the tests run the same versions.
lock: $(VENV)/.dev-installed
	$(LOCK) --quiet --extra postgres --extra ray --extra dev -o requirements-dev.lock
	$(LOCK) --quiet -c requirements-dev.lock -o requirements.lock

demo: $(VENV)/.installed
	$(BIN)/liveops demo --dir demo

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)
	$(BIN)/mypy
	$(if $(wildcard bench),$(BIN)/mypy bench)
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -n 2 --dist loadgroup

bench: $(VENV)/.installed
	$(BIN)/python bench/run.py

bench-eval: $(VENV)/.installed
	$(BIN)/python bench/run.py eval

# Peek-safe rollout gates (docs/rollouts.md): 1,000 replays of a 24-hour canary per scenario.
bench-rollout: $(VENV)/.installed
	$(BIN)/python bench/run.py rollout $(BENCH_ARGS)

# Rollouts under load (docs/benchmarks.md): capacity, shadow's cost open-loop, rollback under wrk.
bench-rollout-load: $(VENV)/.installed
	$(BIN)/python bench/run.py rollout-load $(BENCH_ARGS)

# Monitor benchmark (docs/benchmarks.md): a week of 1M logged answers on SQLite and PostgreSQL
# (127.0.0.1:5432, database test). BENCH_ARGS=--backends sqlite for SQLite alone.
bench-monitor: $(VENV)/.installed
	$(BIN)/python bench/run.py monitor $(BENCH_ARGS)

# Serving benchmark (docs/benchmarks.md): liveops serve against MLflow, BentoML and Starlette.
# Needs wrk (`make bench-tools`); the peers' venvs are created under bench/.venvs on first run.
# BENCH_ARGS=--quick for a short run.
bench-serving: $(VENV)/.installed bench-tools
	$(BIN)/python bench/run.py serving $(BENCH_ARGS)

# Drift benchmark (docs/benchmarks.md): liveops against Evidently and NannyML at 1M rows, plus
# 1,000 no-drift trials at 10k rows. The peers' venv is created in /tmp/peers-venv on first run.
# BENCH_ARGS="--rows 100000 --trials 200" for a short run.
bench-drift: $(VENV)/.installed
	$(BIN)/python bench/run.py drift $(if $(BENCH_ARGS),$(BENCH_ARGS),--trials 1000)

# The load generator: wrk, from the Debian package, installed only if missing.
bench-tools:
	@command -v wrk >/dev/null || { echo "installing wrk (apt-get install -y wrk)"; \
		apt-get install -y wrk || sudo apt-get install -y wrk; }

clean:
	rm -rf $(VENV) .liveops demo
