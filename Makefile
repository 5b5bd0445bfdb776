# 1Mile. Quickstart: `make run` (serve with demo data) and `make test` (the whole suite).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 5000
INSTALLED := $(VENV)/.installed

.PHONY: run test bench audit translations lint clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

translations: $(INSTALLED)
	$(BIN)/pybabel compile -d onemile/translations

# E-mailed links point at the address served (PUBLIC_URL from the environment wins). E-mails
# leave from a thread of this one process; with REDIS_URL set, from `flask mail worker`,
# started beside the server and stopped with it.
run: export PUBLIC_URL ?= http://$(HOST):$(PORT)
run: $(INSTALLED) translations
	scripts/system-deps.sh run
	$(BIN)/flask --app app setup
	if [ -n "$$REDIS_URL" ]; then $(BIN)/flask --app app mail worker & trap 'kill $$!' EXIT; fi; \
	  $(BIN)/flask --app app run --host $(HOST) --port $(PORT)

test: $(INSTALLED) translations
	scripts/system-deps.sh test
	# --reruns: a test that fails is run again (up to twice) and reported as rerun, so a timing
	# flake under a loaded CI machine does not sink the run; a real failure fails three times.
	TEST_DATABASE_URL=$$(scripts/test-postgres.sh) $(BIN)/pytest -n 2 --reruns 2 --reruns-delay 1 $(PYTEST_ARGS)

# BENCH_SIZES=10000,100000 (listings; default 10k,100k,1M), BENCH_BACKENDS, BENCH_REPS, BENCH_HTTP=0,
# BENCH_ROUTING=0 / BENCH_ROUTING_SIZE (replica routing cost; default 100000) … see bench/run.py.
# wrk drives the HTTP load when Debian's package is there (installed here as root), else Python
# threads do.
bench: $(INSTALLED) translations
	scripts/system-deps.sh test
	@command -v wrk >/dev/null || [ "$$(id -u)" -ne 0 ] || { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null; } \
	  || echo "wrk not installed: Python threads will drive the HTTP load"
	TEST_DATABASE_URL=$$(scripts/test-postgres.sh) $(BIN)/python -m bench

# Lighthouse (mobile, default throttling) and axe-core on a throw-away copy with the demo data;
# writes audit/report.json and audit/summary.md. Installs Chromium/Node.js (apt) and the pinned npm
# packages into .audit/ when missing. LIGHTHOUSE_RUNS=3 keeps the median of three runs.
audit: $(INSTALLED) translations
	scripts/audit-deps.sh
	$(BIN)/python scripts/audit.py

lint: $(INSTALLED)
	$(BIN)/ruff check onemile tests

clean:
	rm -rf $(VENV) .pg .audit
