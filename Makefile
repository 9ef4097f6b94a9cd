# SME Pulse — the two commands a newcomer needs:
#   make run    set everything up and start the app on http://127.0.0.1:5000
#   make test   set everything up and run the whole test suite
# Both work in a fresh clone; see README.md for the one apt-get line.

SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
FLASK := $(UV) run --frozen flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup assets migrate demo worker e2e bench clean

run: setup migrate demo
	@echo "SME Pulse on http://$(HOST):$(PORT) — stop with Ctrl-C"
	$(FLASK) run --host $(HOST) --port $(PORT) --no-debugger --no-reload --with-threads

test: setup
	$(UV) run --frozen pytest $(PYTEST_ARGS)

setup: $(UV) assets

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

assets:
	$(UV) sync --frozen --quiet
	$(UV) run --frozen python -m webapp.assets

migrate:
	$(FLASK) db upgrade

demo:
	$(FLASK) demo

worker:
	$(FLASK) worker

e2e: setup
	$(UV) run --frozen pytest -m e2e $(PYTEST_ARGS)

bench: setup
	$(UV) run --frozen python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf .venv .tools static/vendor .pytest_cache test-artifacts
