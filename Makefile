# `make chat` and `make test` work on a fresh clone with only python3 and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: chat test eval bench lint clean

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
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
