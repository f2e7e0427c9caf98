# Convenience targets; the README's two commands work without make. Any Python 3.11 or newer.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test test-all lint bench demo lock clean

$(BIN)/flowwatch: requirements.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.lock -e .
	@touch $@

install: $(BIN)/flowwatch

run: install
	$(BIN)/flowwatch run

test: install
	$(BIN)/python -m pytest

test-all: install
	$(BIN)/python -m pytest -m "slow or not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench

demo: install
	$(BIN)/flowwatch demo

lock:
	$(BIN)/pip install -q uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 -o requirements-runtime.lock

clean:
	rm -rf $(VENV) demo-out .pytest_cache .mypy_cache .ruff_cache
