# Every target sets itself up first: on a fresh machine with Python >= 3.11, `make sweep` and
# `make test` are all a user needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 5000
HOST   ?= 127.0.0.1
STUDY  ?= activations
# the store `make ui` serves: $MLFLOW_TRACKING_URI if set, else the project's embedded store
STORE  ?= $(or $(MLFLOW_TRACKING_URI),sqlite:///$(CURDIR)/mlruns/mlflow.db)

.PHONY: setup sweep test bench ui lint clean ray

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

bench: setup
	$(BIN)/python -m benchmarks.nn

# MLflow's GenAI job runner is switched off: it starts eight extra processes training runs never use
ui: setup
	@MLFLOW_TRACKING_URI=$(STORE) $(BIN)/python -m netlab.tracking.ui --host $(HOST) --port $(PORT) \
		--experiment $(STUDY)
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false $(BIN)/mlflow ui --backend-store-uri $(STORE) --workers 1 \
		--app-name netlab --host $(HOST) --port $(PORT)

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
