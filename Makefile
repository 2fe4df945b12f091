# Two commands on a fresh machine: `make run` (dashboard on sample data in SQLite) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)
SEED_CASES ?= 60000

.PHONY: run test test-fast browser-deps init seed clean-data

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m dashboard seed --if-empty --cases $(SEED_CASES)
	$(PY) app.py

## Browser tests need Debian's chromium and chromium-driver; installed here when missing and we are root.
browser-deps:
	@command -v chromedriver >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver poppler-utils; \
	  else echo "browser tests need: sudo apt-get install chromium chromium-driver (they are skipped until then)"; fi; }

## axe-core (test-only) for the accessibility scan in browser tests.
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

test: $(STAMP) browser-deps node_modules/axe-core/axe.min.js
	$(VENV)/bin/pytest --headless -q

test-fast: $(STAMP)
	$(VENV)/bin/pytest -q -m "not browser"

init: $(STAMP)
	$(PY) -m dashboard init

seed: $(STAMP)
	$(PY) -m dashboard seed --cases $(SEED_CASES)

clean-data:
	rm -f var/rasso.sqlite var/rasso.sqlite-wal var/rasso.sqlite-shm
