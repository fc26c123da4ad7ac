# The two commands of the README: `make run` and `make test`. Each sets up .venv itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
# Links in the e-mails the dev server prints point at the port it serves on.
SITE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: run test check-python venv lint bench clean

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null || { \
	  echo "classpass needs Python 3.12 or newer, but '$(PYTHON)' is $$($(PYTHON) --version 2>&1)."; \
	  echo "Install one (e.g. 'pyenv install 3.13') or run: make PYTHON=python3.13 <target>"; \
	  exit 1; }

$(STAMP): pyproject.toml | check-python
	@test -x $(PY) && $(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' \
	  || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet ".[dev]"
	@touch $(STAMP)

venv: check-python $(STAMP)

run: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty
	SITE_URL=$(SITE_URL) $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache

bench: venv
	$(PY) -m pip install --quiet ".[dev,bench]"
	$(PY) bench/booking.py
	$(PY) bench/http_booking.py
	$(PY) bench/scans.py
	$(PY) bench/pages.py
	$(PY) bench/load.py
