# The two commands of the README, and what they stand on.
#   make demo   install, create the SQLite database through the migrations, seed, serve
#   make test   install (with test tools, axe-core from npm and Chromium for the browser tests),
#               run every test
# TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test make test  runs on PostgreSQL.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test install install-test chromium lint bench

demo: install
	$(VENV)/bin/flask --app wsgi demo

test: install-test chromium
	$(PY) -m pytest $(PYTEST_ARGS)

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml node_modules/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

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

lint: install-test
	$(VENV)/bin/ruff check .

bench: install-test
	$(PY) -m tests.perf.bench_authenticated_page
	$(PY) -m tests.perf.bench_leads
	$(PY) -m tests.perf.bench_feedback
