# `make run` starts the product; `make test` runs the tests. See README.md.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/smsgate
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install install-dev run setup test lint

# `make run` installs only what running needs; `make test` and `make lint` add the test tools.
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# Development settings on the first run; .env is yours to edit afterwards (never committed).
.env:
	cp .env.development $@

# Development runs on Postgres like production: started if down (scripts/ensure-services), database created.
setup: install .env
	bash scripts/ensure-services
	$(PY) manage.py create_database
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setup_periodic_tasks
	$(PY) manage.py collectstatic --noinput -v0

# Web on :8000, worker and beat together (Ctrl-C stops all three); a line says when all are up.
run: setup
	$(VENV)/bin/honcho -f Procfile.dev start

# The suite runs against real Postgres and Redis (override the URLs to point elsewhere).
test: install-dev
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest $(ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
