# The two commands of the README: `make up` and `make test`. Both create .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: up test down status lint chromium

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

up: $(STAMP)  ## embedded AWS + Dagster webserver and daemon on 127.0.0.1:3000 (Ctrl-C stops)
	$(BIN)/etl-platform dev

test: $(STAMP) chromium  ## the whole suite, end-to-end tests included
	$(BIN)/python -m pytest -n 2 --dist loadfile

chromium:  ## Debian's Chromium, which the web page test drives through Playwright (installed once)
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

down: $(STAMP)
	$(BIN)/etl-platform local down

status: $(STAMP)
	$(BIN)/etl-platform local status

lint: $(STAMP)
	$(BIN)/cfn-lint infra/template.yaml
