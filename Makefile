# `make chat` and `make test` work on a fresh clone with only python3 and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: chat test test-lowest eval bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# chatting needs the package alone; the tests add their extras (playwright, hypothesis, redis …)
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

chat: $(STAMP)
	$(BIN)/python run_bot.py

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
	$(BIN)/overdue-bot eval ../shared/eval/real_labeled.yaml --no-misses

bench: $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet scikit-learn
	$(BIN)/python benchmarks/run.py

# style and types, as CI runs them: ruff (lint and format) and mypy --strict over src/
lint: $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet ruff mypy
	$(BIN)/ruff check src tests benchmarks run_bot.py hatch_build.py
	$(BIN)/ruff format --check src tests benchmarks run_bot.py hatch_build.py
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(LOWEST_VENV) build dist *.egg-info .pytest_cache
