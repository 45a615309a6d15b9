# The two commands of the README, and what they stand on.
#   make demo   install, create the SQLite database through the migrations, seed, serve
#   make test   install (with test tools, axe-core from npm and Chromium for the browser tests),
#               run every test
#   make lock   pin every Python dependency, with its hashes, after a change to pyproject.toml
# TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test make test  runs on PostgreSQL.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test install install-test lock chromium lint bench load translations

demo: install
	$(VENV)/bin/flask --app wsgi demo

test: install-test chromium
	$(PY) -m pytest $(PYTEST_ARGS)

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Reproducible installs: every package at the version of the lock file, checked against its
# hashes, then the portal itself (editable, its dependencies being those of the lock). The venv's
# own pip (the one this Python ships) installs them: an upgrade would fetch whatever is newest.
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check

$(VENV)/.installed: requirements/lock.txt requirements/lock-build.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --require-hashes -r requirements/lock.txt -r requirements/lock-build.txt
	$(PIP_INSTALL) --no-deps --no-build-isolation -e .
	@$(PY) -m pip check --disable-pip-version-check >/dev/null || { $(PY) -m pip check; \
	  echo "requirements/lock.txt lacks what pyproject.toml asks for: run make lock"; exit 1; }
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements/lock-test.txt node_modules/.installed
	$(PIP_INSTALL) --require-hashes -r requirements/lock-test.txt
	touch $@

# The lock files, from pyproject.toml, for CPython 3.11 on Linux x86_64 (what the README asks for
# and CI runs), by uv at a pinned version: the runtime set, the runtime set with the test extra
# (the same versions of what they share), and what building the portal itself needs (installed
# first, so the editable build fetches nothing unpinned). Upgrades nothing already pinned unless
# UPGRADE=1 (then every package moves to its newest allowed version).
UV_VERSION := 0.13.8
COMPILE := $(VENV)/bin/uv pip compile --quiet --generate-hashes \
	--python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)

lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) uv==$(UV_VERSION)
	$(COMPILE) pyproject.toml -o requirements/lock.txt
	$(COMPILE) pyproject.toml --extra test --constraints requirements/lock.txt \
	  -o requirements/lock-test.txt
	$(COMPILE) requirements/build.in -o requirements/lock-build.txt

# axe-core, which the browser tests inject into pages (tests/e2e/test_layout_accessibility.py):
# the version pinned in package-lock.json, from the npm registry. Needs Node.js 18 or newer.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  echo "npm is missing: install Node.js 18+ (Debian/Ubuntu: apt-get install nodejs npm)"; exit 1; }
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' || { \
	  echo "Node.js $$(node --version) is too old: the tests need 18 or newer"; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

# The browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  echo "Installing Chromium for the browser tests (apt-get)…"; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The catalogue: extract every marked string again (babel.cfg) and update each language's .po;
# new strings arrive untranslated (Babel's near-match guesses are mostly wrong: none are made)
# and tests/unit/test_translations.py names them. `translations/todo.py` dumps them to JSON and
# merges their translations back. The .mo files are compiled by the app when it starts.
PYBABEL := $(VENV)/bin/pybabel
translations: install
	$(PYBABEL) --quiet extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
	  --no-wrap --sort-by-file --project "Partner Portal" -o translations/messages.pot .
	$(PYBABEL) --quiet update -i translations/messages.pot -d translations --no-wrap \
	  --ignore-obsolete --no-fuzzy-matching
	$(PY) translations/todo.py status

lint: install-test
	$(VENV)/bin/ruff check .

bench: install-test
	$(PY) -m tests.perf.bench_authenticated_page
	$(PY) -m tests.perf.bench_leads
	$(PY) -m tests.perf.bench_feedback
	$(PY) -m tests.perf.bench_wall
	$(PY) -m tests.perf.bench_pages

# Load test (tests/load, not part of make test): 50 users for 5 minutes on SQLite, then on
# PostgreSQL with Redis and an RQ worker. LOAD_DATABASE_URL: a PostgreSQL database of its own (its
# schema is dropped). LOAD_ARGS, e.g. "--users 20 --duration 60", for a smoke run.
LOAD_ARGS ?=
load: install-test
	$(PY) tests/load/run.py --database sqlite $(LOAD_ARGS)
	$(PY) tests/load/run.py --database postgresql $(LOAD_ARGS)
