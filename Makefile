# 1Mile. Quickstart: `make run` (serve with demo data) and `make test` (the whole suite).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 5000
INSTALLED := $(VENV)/.installed

.PHONY: run test bench translations lint clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

translations: $(INSTALLED)
	$(BIN)/pybabel compile -d onemile/translations

run: $(INSTALLED) translations
	scripts/system-deps.sh run
	$(BIN)/flask --app app setup
	$(BIN)/flask --app app run --host $(HOST) --port $(PORT)

test: $(INSTALLED) translations
	scripts/system-deps.sh test
	TEST_DATABASE_URL=$$(scripts/test-postgres.sh) $(BIN)/pytest -n 2 $(PYTEST_ARGS)

bench: $(INSTALLED) translations
	scripts/system-deps.sh test
	TEST_DATABASE_URL=$$(scripts/test-postgres.sh) $(BIN)/python -m bench

lint: $(INSTALLED)
	$(BIN)/ruff check onemile tests

clean:
	rm -rf $(VENV) .pg
