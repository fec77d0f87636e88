# Two commands for a newcomer: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: run test check pytest lint format mypy bench soak postgres bundle chromium clean lock

# The join page's calling bundle (docs/join-page.md): npm ci when the lockfile changed, then a
# type-check and an esbuild bundle when a source changed. The output is its own stamp.
WEB        := web
WEB_STAMP  := $(WEB)/node_modules/.installed
BUNDLE     := bot/join/static/call.js
WEB_SOURCES := $(wildcard $(WEB)/*.ts $(WEB)/*.tsx) $(WEB)/build.mjs $(WEB)/tsconfig.json
CHROMIUM   := /usr/bin/chromium
# Without npm the bundle is left out with a note (the join page then cannot start calls, and the
# browser tests skip saying so); under CI=true that is an error, as CI must build it.
NEED_NPM   := if ! command -v npm >/dev/null; then \
                if [ "$$CI" = true ]; then echo "error: the call bundle needs Node.js 20+ and npm"; exit 1; fi; \
                echo "note: no npm; the join page's call bundle is not built (install Node.js 20+ and npm)"; exit 0; \
              fi;

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	touch $(BENCH_STAMP)

$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json
	@$(NEED_NPM) set -x; cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed

$(BUNDLE): $(WEB_STAMP) $(WEB_SOURCES)
	@$(NEED_NPM) set -x; cd $(WEB) && node_modules/.bin/tsc --noEmit -p . && node build.mjs ../$(BUNDLE)

bundle: $(BUNDLE)

# Debian's chromium for the browser tests, installed when missing (root only). Elsewhere the
# browser tests skip with the reason printed; under CI=true a missing browser fails the build.
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	      || echo "note: could not install chromium; the browser tests will be skipped"; \
	  else \
	    echo "note: $(CHROMIUM) is missing and only root can apt-get it; the browser tests will be skipped"; \
	  fi; \
	fi
	@if [ "$$CI" = true ] && [ ! -x $(CHROMIUM) ]; then \
	  echo "error: CI=true needs $(CHROMIUM) for the browser tests"; exit 1; \
	fi

## run: install, then run the whole bot locally (emulator, SQLite, fake Slack console)
run: $(STAMP) $(BUNDLE)
	$(BIN)/roombot dev

## test: install, build the call bundle, then lint, type-check and run the whole suite (PostgreSQL cases too when a
## server is reachable at 127.0.0.1:5432; they are skipped with the reason printed otherwise)
test: $(STAMP) postgres $(BUNDLE) chromium check pytest

check: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile
	$(BIN)/python -m tests.deploy_schemas  # deploy/: Compose Specification and Kubernetes schemas

## lock: pin (with hashes) what the image installs, from pyproject.toml's dependencies
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes --python-version 3.11 \
	  --python-platform linux --custom-compile-command 'make lock' --output-file requirements.lock

pytest: $(STAMP)
	$(BIN)/pytest

# Start the machine's own PostgreSQL if it is installed but stopped; never fails the build.
postgres:
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1; then \
	  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then \
	    pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start \
	      || echo "note: could not start PostgreSQL; its test cases will be skipped"; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench

format: $(STAMP)
	$(BIN)/ruff format bot tests bench
	$(BIN)/ruff check --fix bot tests bench

mypy: $(STAMP)
	$(BIN)/mypy

## bench: measure against the baselines in one run; writes docs/benchmarks.md (not a test)
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

## soak: the larger reliability runs (faults, crashes, hostile input); writes nothing but stdout
soak: $(STAMP)
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var $(WEB)/node_modules $(BUNDLE) $(BUNDLE).gz $(BUNDLE).br
