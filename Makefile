# `make run` starts the product; `make test` runs the tests. See README.md.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/smsgate
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run setup test lint

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

setup: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setup_periodic_tasks
	$(PY) manage.py collectstatic --noinput -v0

# Web on :8000, worker and beat together (Ctrl-C stops all three).
run: setup
	$(VENV)/bin/honcho -f Procfile.dev start

# The suite runs against real Postgres and Redis (override the URLs to point elsewhere).
test: install
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest $(ARGS)

lint: install
	$(VENV)/bin/ruff check .
