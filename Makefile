# Two set-up commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench bench-eval bench-serving bench-tools clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

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

# Serving benchmark (docs/benchmarks.md): liveops serve against MLflow, BentoML and Starlette.
# Needs wrk (`make bench-tools`); the peers' venvs are created under bench/.venvs on first run.
# BENCH_ARGS=--quick for a short run.
bench-serving: $(VENV)/.installed bench-tools
	$(BIN)/python bench/run.py serving $(BENCH_ARGS)

# The load generator: wrk, from the Debian package, installed only if missing.
bench-tools:
	@command -v wrk >/dev/null || { echo "installing wrk (apt-get install -y wrk)"; \
		apt-get install -y wrk || sudo apt-get install -y wrk; }

clean:
	rm -rf $(VENV) .liveops demo
