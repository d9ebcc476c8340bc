# Everything a fresh Debian + Python 3.11 machine needs is installed by these targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
# The pages' htmx and axe-core, from the npm registry at the versions web-assets pins.
VENDOR := src/proofwork/web/static/vendor
VENDOR_STAMP := $(VENDOR)/.installed-$(shell cat web-assets/package-lock.json | sha256sum | cut -c1-12)

.PHONY: setup demo serve openapi test lint types unit bench clean

setup: $(STAMP) $(VENDOR_STAMP)
	@$(BIN)/proofwork setup

$(STAMP): pyproject.toml scripts/system-deps.sh
	@scripts/system-deps.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	@rm -f $(VENV)/.installed-* && touch $@

$(VENDOR_STAMP): web-assets/package-lock.json scripts/vendor-assets.sh
	@scripts/vendor-assets.sh
	@rm -f $(VENDOR)/.installed-* && touch $@

demo: setup
	@$(BIN)/python -m proofwork.demo

serve: setup
	@$(BIN)/python -m proofwork.web.seed
	@$(BIN)/proofwork serve

openapi: setup
	$(BIN)/python -m proofwork.web.openapi

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# Every pack has a `checks` package and a `selfcheck` module: mypy sees one pack's at a time.
types: setup
	$(BIN)/mypy
	for pack in src/proofwork/challenges/packs/*/; do \
		MYPYPATH=src $(BIN)/mypy $$pack/checks/*.py $$pack/selfcheck.py || exit 1; done

unit: setup
	$(BIN)/pytest

test: lint types unit

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(VENDOR) web-assets/node_modules reports .pytest_cache .mypy_cache .ruff_cache
