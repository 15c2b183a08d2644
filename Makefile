# The README's commands. Everything runs inside .venv, created on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# PyTorch (a CPU build) is only for cross-check tests; installed in CI or with TORCH=1.
TORCH_SPEC := torch==2.13.0
ifneq ($(CI),)
TORCH ?= 1
endif

.PHONY: venv torch system-deps lint test demo bench lab release clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

torch: venv
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet $(TORCH_SPEC)

lint: venv
	$(BIN)/ruff check .

test: venv lint $(if $(TORCH),torch)
	$(BIN)/python -m pytest -n 2 -q

demo: venv
	$(BIN)/python -m introdl.demo

clean:
	rm -rf $(VENV) grading .pytest_cache .ruff_cache

# Benchmarks (not timed tests): writes benchmarks/results.md. Needs PyTorch for the comparisons.
bench: venv torch
	$(BIN)/python benchmarks/run.py
