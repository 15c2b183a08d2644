# The README's commands. Everything runs inside .venv, created on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# PyTorch (a CPU build) is only for cross-check tests; installed in CI or with TORCH=1.
TORCH_SPEC := torch==2.13.0
ifneq ($(CI),)
TORCH ?= 1
endif

.PHONY: venv student-venv grader-venv torch system-deps lint test demo bench lab lab-instructor release clean

# One stamp per role (pyproject.toml's extras): a student's (make lab), the grader's (make demo),
# the developer's (make test, which includes the grader's).
$(BIN)/.installed-student $(BIN)/.installed-grader $(BIN)/.installed-dev: $(BIN)/.installed-%: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.$(if $(filter-out student,$*),[$*])'
	touch $@

venv: $(BIN)/.installed-dev
student-venv: $(BIN)/.installed-student
grader-venv: $(BIN)/.installed-grader

torch: venv
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet $(TORCH_SPEC)

lint: venv
	$(BIN)/ruff check .

test: venv lint $(if $(TORCH),torch) $(if $(CI),browser-deps)
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 -q

# The grading demo: release the course, then grade the bundled sample submissions (samples/demo/,
# written by `python tools/samples.py`) into a throwaway gradebook under grading/.
DEMO_GRADE := $(BIN)/autograder grade --submissions samples/demo \
  --gradebook sqlite:///grading/demo/gradebook.db --cell-timeout 20 --timeout 300
demo: grader-venv
	$(BIN)/python -m introdl.demo
	$(BIN)/autograder release
	rm -rf grading/demo
	$(DEMO_GRADE) a1_splits
	$(DEMO_GRADE) a2_regularization

# course/ from solutions/ (nbgrader generate_assignment); `make release ARGS=--check` only compares.
release: grader-venv
	$(BIN)/autograder release $(ARGS)

# Debian's PostgreSQL for the gradebook test (tests/test_grading_postgres.py, which skips without it).
# `make test` runs this when CI is set.
test: $(if $(CI),system-deps)
system-deps:
	@{ ls /usr/lib/postgresql/*/bin/pg_ctl && command -v bwrap; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else sudo=false; fi; \
	  { $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq postgresql bubblewrap; } >/dev/null \
	  || echo "system-deps: could not install postgresql and bubblewrap; the PostgreSQL and sandbox tests will skip"; }

clean:
	rm -rf $(VENV) grading .pytest_cache .ruff_cache

# Benchmarks (not timed tests): writes benchmarks/results.md. Needs PyTorch for the comparisons.
bench: venv torch
	$(BIN)/python benchmarks/run.py

# JupyterLab on the student release (course/). The notebooks' kernel (python3) is this venv's
# python, so `import introdl` and `import autograder` work. More options: make lab LAB_ARGS="--port=8890".
# Students' Lab: jupyter-config/student, first on JUPYTER_CONFIG_PATH for this launch only, turns off
# nbgrader's instructor extensions (see jupyter-config/README.md); nobody's ~/.jupyter is changed.
STUDENT_JUPYTER_CONFIG := $(CURDIR)/jupyter-config/student
LAB := JUPYTER_PREFER_ENV_PATH=1 $(CURDIR)/$(BIN)/python -m jupyterlab $(if $(filter 0,$(shell id -u)),--allow-root)
lab: student-venv
	$(BIN)/python -c "import introdl, autograder"
	cd course && JUPYTER_CONFIG_PATH=$(STUDENT_JUPYTER_CONFIG)$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH)) \
	  $(LAB) $(LAB_ARGS)

# The instructor's Lab: every nbgrader extension (formgrader, Create Assignment), from the repository
# root, where formgrader reads nbgrader_config.py and sees solutions/, course/ and grading/.
lab-instructor: grader-venv
	$(LAB) $(LAB_ARGS)

# Debian's chromium for the browser test (tests/test_browser.py, which skips without it; Playwright's
# own browser download is never used). `make test` runs this when CI is set.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else sudo=false; fi; \
	  { $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium; } >/dev/null \
	  || echo "browser-deps: could not install chromium; the browser test will skip"; }
