# spendwatch: every target creates what it needs on first use (Python 3.11 and pip are all it needs).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The template tools (SAM CLI, cfn-lint, checkov) pin versions the dev venv cannot share: a venv of their own.
TOOLS_VENV := $(VENV)/tools
TOOLS := $(TOOLS_VENV)/bin
TOOLS_STAMP := $(TOOLS_VENV)/.installed-stamp
BUILD_DIR := .aws-sam/build
# No telemetry from the SAM CLI; checkov reads nothing from the network (--skip-download).
export SAM_CLI_TELEMETRY := 0

.PHONY: install tools demo test lint lint-python lint-template build bench clean

install: $(STAMP)

$(STAMP): layers/spendwatch/pyproject.toml requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e "layers/spendwatch[cli,emulator]" -r requirements-dev.txt
	@touch $(STAMP)

tools: $(TOOLS_STAMP)

$(TOOLS_STAMP): requirements-tools.txt
	@test -x $(TOOLS)/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS)/python -m pip install --quiet --upgrade pip
	$(TOOLS)/python -m pip install --quiet -r requirements-tools.txt
	@touch $(TOOLS_STAMP)

demo: install
	$(BIN)/spendwatch demo

lint: lint-python lint-template

lint-python: install
	$(BIN)/ruff check layers functions tests bench
	$(BIN)/mypy

# The template as SAM sees it, as CloudFormation's linter sees it, and checkov's security checks (0 failed: every
# skip is listed in template.yaml with its reason).
lint-template: tools
	$(TOOLS)/sam validate --lint --template-file template.yaml --region us-east-1
	$(TOOLS)/cfn-lint template.yaml
	$(TOOLS)/checkov --file template.yaml --framework cloudformation --skip-download --quiet --compact

test: install lint build
	$(BIN)/pytest

# The deployable build: layer (cp313 aarch64 wheels) and functions, no container, into a clean build dir.
build: tools
	rm -rf $(BUILD_DIR)
	$(TOOLS)/sam build --template-file template.yaml --build-dir $(BUILD_DIR)
	@ls $(BUILD_DIR)/SpendwatchLayer/python/pydantic_core/*cpython-313-aarch64-linux-gnu.so >/dev/null \
		|| { echo "the layer lacks python3.13 aarch64 wheels" >&2; exit 1; }

bench: install
	$(BIN)/python bench/scan_bench.py
	$(BIN)/python bench/meter_bench.py

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
