# The two commands a newcomer needs:  make demo  (run with demo data)  and  make test  (the whole suite).
VENV ?= .venv
PYTHON ?= python3
PORT ?= 8000
BIN := $(VENV)/bin

.PHONY: install translations demo test lint browser clean

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

# Chromium from the distribution drives the browser tests; installed when we may (root), else those tests skip.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium is not installed: browser tests will be skipped"

lint: install
	$(BIN)/ruff check src tests bench

test: translations browser lint
	env -u DATABASE_URL $(BIN)/pytest
	@if [ -n "$$DATABASE_URL" ]; then echo "== again on $${DATABASE_URL%%://*}"; $(BIN)/pytest; fi

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
