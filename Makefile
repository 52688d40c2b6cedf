# spendwatch: every target creates .venv on first use (Python 3.11 and pip are all it needs).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench clean

install: $(STAMP)

$(STAMP): layers/spendwatch/pyproject.toml requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e "layers/spendwatch[cli,emulator]" -r requirements-dev.txt
	@touch $(STAMP)

demo: install
	$(BIN)/spendwatch demo

lint: install
	$(BIN)/ruff check layers functions tests bench
	$(BIN)/mypy

test: install lint
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/scan_bench.py

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
