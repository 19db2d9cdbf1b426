# `make chat`, `make serve`, `make test` and `make eval` work on a fresh clone with only python3 and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
SERVER_STAMP := $(VENV)/.installed-server
# pip says what it collects and builds (not --quiet: a first install takes about a minute)
PIP := $(BIN)/python -m pip install --disable-pip-version-check
# the project's own held-out questions, written apart from intents/ (tests/data); the shared set
# of real users' questions only where this clone sits beside it (it is not part of the project)
HELDOUT := tests/data/heldout.yaml tests/data/heldout_users.yaml tests/data/heldout_web.yaml
REAL := ../shared/eval/real_labeled.yaml
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: chat serve test test-lowest eval bench lint clean

$(BIN)/python:
	@echo "== creating the virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV)

# chatting needs the package alone; the tests add their extras (playwright, hypothesis, redis …)
$(STAMP): $(BIN)/python pyproject.toml
	@echo "== installing overdue-bot and its dependencies into $(VENV) (first time: about a minute; building the index is the quiet part)"
	$(PIP) --quiet --upgrade pip
	$(PIP) -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	@echo "== installing the test dependencies (pytest, hypothesis, the server, redis, playwright …)"
	$(PIP) -e '.[test]'
	touch $(TEST_STAMP)

$(SERVER_STAMP): $(STAMP)
	@echo "== installing the server extra (starlette, uvicorn, prometheus-client)"
	$(PIP) -e '.[server]'
	touch $(SERVER_STAMP)

chat: $(STAMP)
	$(BIN)/python run_bot.py

# the HTTP server with the chat page: open http://127.0.0.1:8000/ (Ctrl-C stops it)
serve: $(SERVER_STAMP)
	@echo "== the page: http://$(HOST):$(PORT)/  (Ctrl-C stops the server)"
	$(BIN)/overdue-bot serve --host $(HOST) --port $(PORT)

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q

# the server tests against the lowest versions pyproject allows, in a venv of their own (.venv
# keeps today's versions); CI runs it after `make test`. Raise a floor here and in pyproject together.
LOWEST_VENV := .venv-lowest
LOWEST := uvicorn==0.51.0 starlette==0.37.0 redis==5.0.0 jieba==0.42 prometheus-client==0.17.0 \
	cryptography==41.0.0 lark-oapi==1.6.4

test-lowest:
	test -x $(LOWEST_VENV)/bin/python || $(PYTHON) -m venv $(LOWEST_VENV)
	@echo "installing the package with the lowest allowed $(LOWEST) into $(LOWEST_VENV)"
	$(LOWEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOWEST_VENV)/bin/python -m pip install --progress-bar off -e '.[server,redis,channels,feishu]' pytest httpx $(LOWEST)
	$(LOWEST_VENV)/bin/python -m pytest -q tests/test_http.py tests/test_outsider.py tests/test_scaling.py

eval: $(STAMP)
	@for f in $(HELDOUT) $(wildcard $(REAL)); do \
		echo "== $$f"; $(BIN)/overdue-bot eval "$$f" --no-misses || exit 1; \
	done
	@$(if $(wildcard $(REAL)),true,echo "($(REAL) is not here: evaluated on the held-out files only)")

bench: $(TEST_STAMP)
	@echo "== installing scikit-learn (the benchmark's baselines)"
	$(PIP) scikit-learn
	$(BIN)/python benchmarks/run.py

# style and types, as CI runs them: ruff (lint and format) and mypy --strict over src/
lint: $(TEST_STAMP)
	@echo "== installing ruff and mypy"
	$(PIP) --quiet ruff mypy
	$(BIN)/ruff check src tests benchmarks run_bot.py hatch_build.py
	$(BIN)/ruff format --check src tests benchmarks run_bot.py hatch_build.py
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(LOWEST_VENV) build dist *.egg-info .pytest_cache
