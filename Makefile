# Parity: two commands on a fresh machine. `make run` starts everything, `make test` proves it.
PYTHON ?= python3.11
VENV := .venv
UV := $(VENV)/bin/uv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.8

.PHONY: bootstrap run test lint typecheck pytest bench demo asyncapi migration clean

$(UV):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml $(wildcard */pyproject.toml */*/pyproject.toml)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --all-packages --frozen --compile-bytecode --python $(VENV)/bin/python
	@touch $@

bootstrap: $(VENV)/.synced

run: bootstrap
	$(PY) -m devstack run

test: bootstrap lint typecheck pytest

lint: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: bootstrap
	$(VENV)/bin/mypy libs/kit/src libs/contracts/src services/*/src gateway/src sandbox/src deploy/local/src

pytest: bootstrap
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: bootstrap
	$(PY) -m bench.run_all

demo: bootstrap
	$(PY) -m devstack.demo

asyncapi: bootstrap
	$(PY) -m contracts.asyncapi > docs/asyncapi.yaml

# make migration SERVICE=eligibility MSG="add clients"
migration: bootstrap
	$(PY) -m devstack.migration $(SERVICE) "$(MSG)"

clean:
	rm -rf $(VENV) .data
