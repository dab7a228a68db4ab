# Every target sets itself up first: on a fresh machine with Python >= 3.11, `make sweep` and
# `make test` are all a user needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 5000
STUDY  ?= activations
# the store `make ui` serves: STORE=URI, else $MLFLOW_TRACKING_URI, else the project's embedded
# store (src/netlab/tracking/ui.py resolves it as every command does)
STORE  ?=
# where `make ui` listens: only `make ui HOST=…` on make's command line changes it; a HOST exported
# in the environment (zsh sets one) does not open the UI beyond this machine
ifneq ($(origin HOST),command line)
HOST := 127.0.0.1
endif

.PHONY: setup sweep test test-fast bench ui lint clean ray reports

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "netlab needs Python >= 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	@# netlab has its own Optuna sweeper now; the old plugin (optuna<3) must not shadow it
	$(BIN)/python -m pip uninstall -q -y hydra-optuna-sweeper 2>/dev/null || true
	touch $(STAMP)

# the test tools (pytest, Playwright, the PostgreSQL driver, ruff) only for those who run the tests
TEST_STAMP := $(VENV)/.test-installed
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

setup: $(STAMP)

sweep: setup
	$(BIN)/python -m src.run -m +experiment=activations

# two workers, each test file on one of them (its module fixtures are set up once)
test: $(TEST_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

# the tier a developer runs every hour: every test not marked slow (no cluster, server or browser)
test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not slow"

bench: setup
	$(BIN)/python -m benchmarks.nn

# every committed study rerun (into mlruns/committed/, made afresh) and its report written in
# experiments/<study>/; the test suite fails while a committed report is not today's code's
reports: setup
	$(BIN)/python -m netlab.report.committed --jobs 2

# STUDY, STORE, HOST and PORT reach netlab.tracking.ui as environment variables, quoted: never
# pasted into the shell, nor expanded by make ($(value …), and not exported under their own names,
# which would expand them), so `STUDY='x; rm …'` or `STUDY='$(shell …)'` is a name. It prints the
# link, then becomes MLflow's server (`mlflow ui`, see its docstring).
unexport STUDY STORE HOST PORT
ui: export NETLAB_UI_STUDY = $(value STUDY)
ui: export NETLAB_UI_STORE = $(value STORE)
ui: export NETLAB_UI_HOST = $(value HOST)
ui: export NETLAB_UI_PORT = $(value PORT)
ui: setup
	@$(BIN)/python -m netlab.tracking.ui --serve --experiment="$$NETLAB_UI_STUDY" \
		--store="$$NETLAB_UI_STORE" --host="$$NETLAB_UI_HOST" --port="$$NETLAB_UI_PORT"

# Hydra's Ray launcher, the `ray` extra, into .venv (it holds joblib below 1.6: see pyproject.toml)
RAY_STAMP := $(VENV)/.ray-installed
ray: setup $(RAY_STAMP)
$(RAY_STAMP): $(TEST_STAMP)
	$(BIN)/python -m pip install -q -e '.[test,ray]'
	touch $@

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache
