# The two commands a newcomer needs:  make demo  (run with demo data)  and  make test  (the whole suite).
VENV ?= .venv
PYTHON ?= python3
PORT ?= 8000
BIN := $(VENV)/bin

.PHONY: install install-base translations translations-base demo node test lint lock system-packages clean

# Installs come from the lock files, every package checked against its hash, so a fresh machine gets
# what CI tested. A stamp per lock file: a second run reinstalls only when a lock file changed
# (or pyproject.toml / setup.py, for the project itself). The project installs without build
# isolation so that its build uses the locked setuptools and polib, not whatever is newest.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(BIN)/.locked-base: requirements/base.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/base.txt
	touch $@

$(BIN)/.locked-test: requirements/test.txt | $(BIN)/.locked-base
	$(BIN)/pip install --quiet --require-hashes -r requirements/test.txt
	touch $@

$(BIN)/.project: pyproject.toml setup.py | $(BIN)/.locked-base
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# What running needs (make demo) ...
install-base: $(BIN)/.locked-base $(BIN)/.project

# ... and what the tests and linters need as well (make test).
install: $(BIN)/.locked-test $(BIN)/.project

translations-base: install-base
	$(BIN)/birtutas compile_translations

translations: install
	$(BIN)/birtutas compile_translations

demo: translations-base
	BIRTUTAS_DEMO=1 $(BIN)/birtutas migrate --noinput
	BIRTUTAS_DEMO=1 $(BIN)/birtutas demo_data
	@echo "Open http://127.0.0.1:$(PORT)/ and sign in as teacher, student, parent, director or analyst (password: demo)"
	BIRTUTAS_DEMO=1 BIRTUTAS_DEBUG=0 $(BIN)/birtutas runserver 127.0.0.1:$(PORT)

# A central server (var/centre, port PORT) and a school node (var/node, port NODE_PORT) with demo data, both in
# the background, and the node's first sync to watch. Stop both: scripts/node-demo.sh stop.
NODE_PORT ?= 8001
node: translations-base
	PORT=$(PORT) NODE_PORT=$(NODE_PORT) BIN=$(abspath $(BIN)) scripts/node-demo.sh

# The distribution's Chromium drives the browser tests and GNU gettext checks the catalogues;
# installed when we may (root), else the tests that need them are skipped (CI requires them).
system-packages:
	@command -v chromium >/dev/null 2>&1 && command -v xgettext >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium gettext >/dev/null; } || \
	  echo "chromium or gettext is missing: the tests that need them will be skipped"

# ruff for style and bugs, then import-linter for the layering of the domains ([tool.importlinter]).
lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports --no-cache

test: translations system-packages lint
	env -u DATABASE_URL $(BIN)/pytest
	@if [ -n "$$DATABASE_URL" ]; then echo "== again on $${DATABASE_URL%%://*}"; $(BIN)/pytest; fi

# Regenerates requirements/base.txt (the dependencies of pyproject.toml) and requirements/test.txt
# (base plus the test extra) with pip-tools, installed in a throwaway virtualenv. The build
# requirements are locked too. Existing pins are kept; `make lock LOCK_FLAGS=--upgrade` moves every
# package to its newest release (then run make test). test.txt is constrained by base.txt, so the
# two never disagree on a version. Run it with Python 3.11 on Linux x86_64, the platform locked for.
PIP_TOOLS := pip-tools==7.6.2
LOCK_FLAGS ?=
PIP_COMPILE_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --all-build-deps \
  --no-emit-index-url --no-emit-find-links $(LOCK_FLAGS)
lock:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
	  { echo "make lock needs Python 3.11: make lock PYTHON=python3.11"; exit 1; }
	@set -e; tools=$$(mktemp -d); trap 'rm -rf "$$tools"' EXIT; \
	$(PYTHON) -m venv "$$tools"; \
	"$$tools/bin/pip" install --quiet --disable-pip-version-check "$(PIP_TOOLS)"; \
	export CUSTOM_COMPILE_COMMAND="make lock"; \
	"$$tools/bin/pip-compile" $(PIP_COMPILE_FLAGS) -o requirements/base.txt pyproject.toml; \
	"$$tools/bin/pip-compile" $(PIP_COMPILE_FLAGS) --extra test -c requirements/base.txt \
	  -o requirements/test.txt pyproject.toml; \
	for name in base test; do \
	  case $$name in base) what="what running needs (make demo), the dependencies of pyproject.toml";; \
	                 *) what="what the tests need (make test), base.txt plus the test extra of pyproject.toml";; esac; \
	  { echo "# Lock file with hashes for Python 3.11 on Linux x86_64: $$what."; \
	    echo "# Do not edit by hand: change pyproject.toml, then regenerate with 'make lock'"; \
	    echo "# ('make lock LOCK_FLAGS=--upgrade' moves every package to its newest release)."; \
	    cat requirements/$$name.txt; } > requirements/$$name.txt.new; \
	  mv requirements/$$name.txt.new requirements/$$name.txt; \
	done; \
	echo "requirements/base.txt and requirements/test.txt regenerated"

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache build dist
