# One entry point. `make run` brings the whole app up; `make test` runs every test.
# Both do all set-up themselves on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# dcmtk-based receivers (Orthanc, storescp, dcmqrscp) keep Nagle's algorithm on otherwise;
# tesseract spin-waits on OpenMP threads without the limit.
export TCP_NODELAY := 1
export OMP_THREAD_LIMIT := 1

.PHONY: setup run test test-fast lint format frontend system-deps system-deps-run services bench clean

setup: $(VENV)/.installed frontend

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

frontend/dist/.vite/manifest.json: frontend/node_modules/.installed $(shell find frontend/src -type f 2>/dev/null) frontend/vite.config.ts
	cd frontend && npx vite build --logLevel warn

frontend: frontend/dist/.vite/manifest.json

run: system-deps-run setup
	@TEACHINGFILE_DEV=1 $(PY) manage.py migrate --noinput -v0
	@echo "Demo accounts (user / password):"
	@TEACHINGFILE_DEV=1 $(PY) manage.py ensure_demo_accounts
	@echo "Teachingfile is starting on http://127.0.0.1:8000/  (Ctrl-C stops everything)"
	TEACHINGFILE_DEV=1 $(VENV)/bin/honcho start -f Procfile

system-deps:
	@scripts/system-deps.sh

# The run command needs only Python 3.11 with venv and Node.js 20: check, install nothing.
system-deps-run:
	@python3 -m venv --help >/dev/null 2>&1 || { echo "python3 with venv is needed (apt-get install python3-venv)" >&2; exit 1; }
	@node --version >/dev/null 2>&1 || { echo "Node.js 20.19+ with npm is needed to build the frontend" >&2; exit 1; }

services: $(VENV)/.installed
	@$(PY) scripts/ensure_services.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy anonymizer

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: system-deps setup services lint
	cd frontend && npx vitest run
	set -a; [ ! -f var/test-services.env ] || . var/test-services.env; set +a; $(VENV)/bin/pytest --durations=25

# Unit tests only: no PACS, no worker, no browser.
test-fast: setup
	$(VENV)/bin/pytest -m "not integration and not e2e"

bench: setup
	$(PY) -m bench.anonymizer_bench

# The bounded load test (not part of `make test`): 50 trainees and an author against
# gunicorn + PostgreSQL + Redis + a Celery worker on loopback, about 5 minutes in all.
# Options: make bench-load BENCH_LOAD_ARGS="--duration 60 --save-baseline"
.PHONY: bench-load
bench-load: setup services $(VENV)/.installed-load
	$(PY) -m bench.load $(BENCH_LOAD_ARGS)

$(VENV)/.installed-load: pyproject.toml $(VENV)/.installed
	$(VENV)/bin/pip install -q -e '.[load]'
	touch $@

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist var
