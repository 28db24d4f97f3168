# Two commands for a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export PYTHONUNBUFFERED := 1

.PHONY: install demo test lint typecheck bench soak clean

$(VENV)/.installed: pyproject.toml scripts/install.sh
	bash scripts/install.sh
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) -m closerr.cli demo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy closerr config engine control_api metrics models benchmarks

test: install lint typecheck
	bash scripts/test.sh

bench: install
	$(PY) -m benchmarks

# An hour of steady load (not part of bench or CI): memory drift, p95 trend, failures, underruns.
soak: install
	$(PY) -m benchmarks.soak

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
