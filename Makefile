# One obvious way: `make run` and `make test` are the README's two commands; .ci/run calls `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EVENTS ?= examples/events.jsonl
MEDIA ?= examples/media

.PHONY: run test lint typecheck template unit bench clean lock sam-build

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
	$(BIN)/python benchmarks/tracer.py

clean:
	rm -rf $(VENV) $(VENV)-sam .aws-sam .assistant .pytest_cache .mypy_cache .ruff_cache

## lock: pin the Lambda functions' dependencies (after changing [project] dependencies in pyproject.toml)
lock: $(BIN)/python
	$(BIN)/python packaging/lock.py

# `sam build` runs `make build-<LogicalId>` for each function (BuildMethod: makefile) with ARTIFACTS_DIR set.
# A function holds the `assistant` and `handlers` packages without the local twin (assistant/local) and the
# locked dependencies, wheels for Lambda's python3.12 on arm64,
# whatever Python runs pip here: no container, no Python 3.12 needed.
LAMBDA_PIP := --quiet --no-deps --require-hashes --only-binary=:all: --no-compile --disable-pip-version-check \
	--platform manylinux2014_aarch64 --python-version 3.12 --implementation cp
build-%Function:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is empty: run this through sam build" >&2; exit 1; }
	$(PYTHON) -m pip install $(LAMBDA_PIP) --target "$(ARTIFACTS_DIR)" -r packaging/requirements-lambda.txt
	$(PYTHON) packaging/copy_code.py "$(ARTIFACTS_DIR)"

SAM ?= $(VENV)-sam/bin/sam
$(VENV)-sam/bin/sam:
	$(PYTHON) -m venv $(VENV)-sam
	$(VENV)-sam/bin/pip install --quiet --upgrade pip
	$(VENV)-sam/bin/pip install --quiet -r packaging/requirements-sam.txt

## sam-build: validate and lint the template with SAM, build every function and the layer (what CI runs too)
sam-build: $(SAM) $(VENV)/.dev-installed
	SAM_CLI_TELEMETRY=0 $(SAM) validate --lint
	SAM_CLI_TELEMETRY=0 $(SAM) build
	$(BIN)/python packaging/check_artifacts.py .aws-sam/build
