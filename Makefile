# The two commands a newcomer needs:  make demo  (run with demo data)  and  make test  (the whole suite).
VENV ?= .venv
PYTHON ?= python3
PORT ?= 8000
BIN := $(VENV)/bin

.PHONY: install translations demo test lint system-packages clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/.installed

translations: install
	$(BIN)/birtutas compile_translations

demo: translations
	BIRTUTAS_DEMO=1 $(BIN)/birtutas migrate --noinput
	BIRTUTAS_DEMO=1 $(BIN)/birtutas demo_data
	@echo "Open http://127.0.0.1:$(PORT)/ and sign in as teacher, student, parent, director or analyst (password: demo)"
	BIRTUTAS_DEMO=1 $(BIN)/birtutas runserver 127.0.0.1:$(PORT)

# The distribution's Chromium drives the browser tests and GNU gettext checks the catalogues;
# installed when we may (root), else the tests that need them are skipped (CI requires them).
system-packages:
	@command -v chromium >/dev/null 2>&1 && command -v xgettext >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium gettext >/dev/null; } || \
	  echo "chromium or gettext is missing: the tests that need them will be skipped"

lint: install
	$(BIN)/ruff check src tests bench

test: translations system-packages lint
	env -u DATABASE_URL $(BIN)/pytest
	@if [ -n "$$DATABASE_URL" ]; then echo "== again on $${DATABASE_URL%%://*}"; $(BIN)/pytest; fi

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
