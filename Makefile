# Customer-space identity provider.
#   make run    set everything up (venv, pinned deps, translations, database, keys, clients,
#               demo data) and serve the provider on http://127.0.0.1:5000 (development)
#   make test   set up the same way and run the whole test suite
#   make serve  serve the production way (granian; settings from the environment)
#   make bench  measure the provider served by `make serve` on loopback
#   make bench-import  time `idp customers import` on a generated file (CUSTOMERS=100000)

# Python 3.11, 3.12 or 3.13 (setup.cfg python_requires); another version gets its own venv:
#   make test PYTHON=python3.13 VENV=.venv-3.13
PYTHON  ?= python3.11
VENV    ?= .venv
BIN     := $(VENV)/bin
PORT    ?= 5000
WORKERS ?= 2
BIND    ?= 127.0.0.1:$(PORT)
# Request threads per worker. Python runs one thread at a time: more threads only overlap
# waits (a database round trip, an argon2 hash, which needs 19 MiB while it runs) and cost CPU
# in GIL hand-offs; 2 measured best per core (docs/performance.md). Scale with WORKERS.
THREADS ?= 2
# granian (measured 1.8x gunicorn on this code, docs/performance.md); SERVER=gunicorn for the
# documented alternative (gthread workers).
SERVER  ?= granian
FLASK   := $(BIN)/flask --app wsgi

.PHONY: setup argon2-for-this-cpu run test serve bench bench-import lint clean-db requirements messages browser-assets screenshots

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements-dev.txt setup.cfg pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	@$(MAKE) --no-print-directory argon2-for-this-cpu
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . \
	  || $(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# argon2id is most of a login's cost. On a CPU with AVX2 (x86-64-v3), argon2-cffi-bindings
# built from its locked sdist (same hash-checked lock) hashes in about half the time of the
# portable wheel; elsewhere, or if the build fails, the portable wheel stays. Same PHC strings.
X86_64_V3 := avx2 bmi1 bmi2 fma movbe f16c
argon2-for-this-cpu:
	@if [ "$$(uname -m)" = x86_64 ] && for f in $(X86_64_V3); do grep -qw $$f /proc/cpuinfo || exit 1; done; then \
	  awk '/^argon2-cffi-bindings==/{p=1} p{print} p && !/\\$$/{exit}' requirements-dev.txt > $(VENV)/argon2-lock.txt; \
	  echo "argon2: building argon2-cffi-bindings for this CPU (AVX2, -march=x86-64-v3)"; \
	  if CFLAGS="-O3 -march=x86-64-v3" $(BIN)/python -m pip install --quiet --no-cache-dir \
	      --require-hashes --no-deps --force-reinstall --no-binary argon2-cffi-bindings \
	      -r $(VENV)/argon2-lock.txt; then echo x86-64-v3 > $(VENV)/.argon2-build; \
	  else echo "argon2: source build failed; keeping the portable wheel"; \
	    $(BIN)/python -m pip install --quiet --require-hashes --no-deps --force-reinstall \
	      -r $(VENV)/argon2-lock.txt; echo portable > $(VENV)/.argon2-build; fi; \
	else echo portable > $(VENV)/.argon2-build; fi

translations: $(VENV)/.installed $(wildcard idp/translations/*/LC_MESSAGES/messages.po)
	@if ls idp/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
	  $(BIN)/pybabel compile --statistics -d idp/translations 2>&1 | tail -n 4; fi
	@touch translations

setup: $(VENV)/.installed translations

run: setup
	IDP_ENV=development $(FLASK) db upgrade
	IDP_ENV=development $(FLASK) idp keys generate
	IDP_ENV=development $(FLASK) idp clients sync
	IDP_ENV=development $(FLASK) idp seed-demo
	@echo ""
	@echo "  Provider:  http://127.0.0.1:$(PORT)  (discovery: /.well-known/openid-configuration)"
	@echo "  Demo logins (password Zonnepaneel-2026!):"
	@echo "    demo.actif@example.be    eligible (active electricity contract)"
	@echo "    demo.inactif@example.be  not eligible (contract ended)"
	@echo "  Log in as the Smart App would (in another terminal):"
	@echo "    $(BIN)/python -m clients.smart_app login --no-browser"
	@echo ""
	@echo "  Customer space (web client): http://127.0.0.1:5001"
	@echo "  Smart App screens: $(BIN)/python -m clients.smart_app   (prints its address)"
	@echo "  Development mail outbox: http://127.0.0.1:$(PORT)/_dev/mail"
	@echo "  Delivery worker (mail, back-channel logout): $(FLASK) idp worker, started here"
	@echo ""
	@trap 'kill 0' EXIT INT TERM; \
	  $(BIN)/python -m clients.customer_space & \
	  IDP_ENV=development $(FLASK) idp worker & \
	  IDP_ENV=development $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: setup browser-assets
	$(BIN)/python -m pytest --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

# Browser tests use Debian's Chromium (/usr/bin/chromium; `apt-get install chromium`) driven by
# Playwright, and axe-core from npm; without them those tests skip (CI installs both).
browser-assets: node_modules/axe-core/axe.min.js

node_modules/axe-core/axe.min.js: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --silent; \
	  else echo "npm not found: browser tests will skip"; fi

screenshots: setup browser-assets
	IDP_TEST_SCREENSHOTS_DIR=docs/screens $(BIN)/python -m pytest -p no:cacheprovider tests/browser -q

serve: setup
	$(FLASK) db upgrade
ifeq ($(SERVER),gunicorn)
	exec $(BIN)/gunicorn --workers $(WORKERS) --worker-class gthread --threads $(THREADS) \
	  --bind $(BIND) wsgi:app
else
	bind='$(BIND)'; exec $(BIN)/granian --interface wsgi --no-ws --workers $(WORKERS) \
	  --blocking-threads $(THREADS) --respawn-failed-workers \
	  --host "$${bind%:*}" --port "$${bind##*:}" wsgi:app
endif

# make bench: this provider (make serve, one worker on core 0) and node-oidc-provider measured in
# the same run by a Node load generator on core 1; BENCH_ARGS="--engine postgresql
# --database-url URL" for PostgreSQL (see bench/run.py --help). Needs Node.js (Debian's nodejs).
bench: setup bench/node_modules/.package-lock.json
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench/node_modules/.package-lock.json: bench/package.json bench/package-lock.json
	@command -v npm >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq nodejs npm)
	cd bench && npm ci --no-audit --no-fund --silent

CUSTOMERS ?= 100000
bench-import: setup
	$(BIN)/python -m bench.import_bench --customers $(CUSTOMERS) $(BENCH_IMPORT_ARGS)

lint: setup
	$(BIN)/ruff check idp clients tests bench migrations wsgi.py
	$(BIN)/ruff format --check idp clients tests bench migrations wsgi.py
	$(BIN)/mypy

messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -k lazy_ngettext:1,2 -c TRANSLATORS: \
	  --project=customer-space-idp --copyright-holder=customer-space-idp -o idp/translations/messages.pot .
	$(BIN)/pybabel update -i idp/translations/messages.pot -d idp/translations

requirements: $(VENV)/.installed
	$(BIN)/pip-compile -q --strip-extras --generate-hashes --allow-unsafe -o requirements.txt setup.cfg
	$(BIN)/pip-compile -q --strip-extras --extra dev --generate-hashes --allow-unsafe -o requirements-dev.txt setup.cfg

clean-db:
	rm -f instance/idp.sqlite3 instance/idp.sqlite3-wal instance/idp.sqlite3-shm
