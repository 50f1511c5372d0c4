# One obvious way: `make run` and `make test` are the README's two commands; .ci/run calls `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EVENTS ?= examples/events.jsonl
MEDIA ?= examples/media

.PHONY: run test lint typecheck template unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.local-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[local]"
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.local-installed

## run: install, then replay the sample events through the local pipeline (no AWS account needed)
run: $(VENV)/.local-installed
	$(BIN)/assistant replay $(EVENTS) --media $(MEDIA)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

template: $(VENV)/.dev-installed
	$(BIN)/cfn-lint template.yaml

unit: $(VENV)/.dev-installed
	$(BIN)/pytest

## test: install, then lint, type-check, check the template and run every test (what CI runs)
test: lint typecheck template unit

## bench: the figures in the README
bench: $(VENV)/.dev-installed
	$(BIN)/python benchmarks/inbound.py
	$(BIN)/python benchmarks/knowledge.py
	$(BIN)/python benchmarks/voice/wer.py --languages en,es,pt,fr,de,tr,ar
	$(BIN)/python benchmarks/voice/end_to_end.py

clean:
	rm -rf $(VENV) .assistant .pytest_cache .mypy_cache .ruff_cache
