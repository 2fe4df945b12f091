# Two commands on a fresh machine: `make run` (dashboard on sample data in SQLite) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)
SEED_CASES ?= 60000

.PHONY: run test test-fast browser-deps web-assets init seed clean-data

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP) web-assets
	$(PY) -m dashboard seed --if-empty --cases $(SEED_CASES)
	$(PY) app.py

## Browser tests need Debian's chromium and chromium-driver; installed here when missing and we are root.
browser-deps:
	@command -v chromedriver >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver poppler-utils; \
	  else echo "browser tests need: sudo apt-get install chromium chromium-driver (they are skipped until then)"; fi; }

## From npm: plotly.js's cartesian bundle (charts parse faster; without it the app uses Dash's full plotly.js) and
## axe-core (test-only) for the accessibility scan in browser tests. `make run` needs neither.
NPM_STAMP := node_modules/.installed
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

web-assets:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(NPM_STAMP) || \
	  echo "npm ci failed: charts use Dash's full plotly.js (slower first page load)"; \
	else echo "npm not found: charts use Dash's full plotly.js (slower first page load)"; fi

test: $(STAMP) browser-deps $(NPM_STAMP)
	$(VENV)/bin/pytest --headless -q

test-fast: $(STAMP)
	$(VENV)/bin/pytest -q -m "not browser"

init: $(STAMP)
	$(PY) -m dashboard init

seed: $(STAMP)
	$(PY) -m dashboard seed --cases $(SEED_CASES)

clean-data:
	rm -f var/rasso.sqlite var/rasso.sqlite-wal var/rasso.sqlite-shm

## Benchmarks at national scale (1,000,000 cases; stores cached in bench/cache/): figures in bench/results/ and
## docs/performance.md. Needs the local PostgreSQL for its half; BENCH_ARGS e.g. "--stores sqlite --reps 20".
BENCH_STAMP := $(VENV)/.bench-$(shell cksum bench/requirements.txt | cut -d' ' -f1)
$(BENCH_STAMP): bench/requirements.txt $(STAMP)
	$(PY) -m pip install --quiet -r bench/requirements.txt
	rm -f $(VENV)/.bench-*
	touch $@

.PHONY: bench bench-profile
bench: $(BENCH_STAMP) browser-deps
	$(PY) -m bench run $(BENCH_ARGS)

bench-profile: $(BENCH_STAMP)
	$(PY) -m bench profile $(BENCH_ARGS)

## Production mode: gunicorn with gunicorn.conf.py (workers from the core count, access log to stdout). Defaults to
## 127.0.0.1:8050 in open mode; for anyone else set AUTH_MODE, SECRET_KEY, HOST (docs/deployment.md).
.PHONY: serve
serve: $(STAMP) web-assets
	$(VENV)/bin/gunicorn --config gunicorn.conf.py app:server

## Load test (docs/deployment.md): 50 users for 60 s against gunicorn on PostgreSQL, loopback only. The 1,000,000-case
## store is built once in database rasso_loadtest. Locust has a venv of its own (its pytest plugin and gevent stay out
## of the app's). LOADTEST_ARGS e.g. "--users 10,25,50,100 --duration 60".
LOADTEST_VENV := .venv-loadtest
LOADTEST_STAMP := $(LOADTEST_VENV)/.installed-$(shell cksum loadtest/requirements.txt | cut -d' ' -f1)
$(LOADTEST_STAMP): loadtest/requirements.txt
	$(PYTHON) -m venv $(LOADTEST_VENV)
	$(LOADTEST_VENV)/bin/python -m pip install --quiet -r loadtest/requirements.txt
	rm -f $(LOADTEST_VENV)/.installed-*
	touch $@

.PHONY: loadtest
loadtest: $(STAMP) $(LOADTEST_STAMP)
	$(PY) -m loadtest --locust $(LOADTEST_VENV)/bin/locust $(LOADTEST_ARGS)
