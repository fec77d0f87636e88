# Two commands for a newcomer: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: run test check pytest lint format mypy bench soak postgres clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	touch $(BENCH_STAMP)

## run: install, then run the whole bot locally (emulator, SQLite, fake Slack console)
run: $(STAMP)
	$(BIN)/roombot dev

## test: install, then lint, type-check and run the whole suite (PostgreSQL cases too when a
## server is reachable at 127.0.0.1:5432; they are skipped with the reason printed otherwise)
test: $(STAMP) postgres check pytest

check: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/mypy

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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var
