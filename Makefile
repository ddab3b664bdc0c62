# Every target bootstraps .venv (pinned requirements + course_utils, editable) when it is
# missing or older than requirements.txt / pyproject.toml.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.course-installed
# Same settings for tests, benchmark and re-execution: the stored outputs were made with them.
RUN_ENV := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONHASHSEED=0 COURSE_THREADS=1 COURSE_SCALE=small
# Tests run behind the offline guard: any non-loopback connection from any Python process fails loudly.
TEST_ENV := $(RUN_ENV) PYTHONPATH=$(CURDIR)/tests/offline
NBVAL   := --nbval --nbval-current-env --nbval-sanitize-with tests/notebooks/sanitize.cfg \
           --nbval-cell-timeout=300 -p tests.notebooks.nbval_setup
NB ?= notebooks/*.ipynb

.PHONY: help venv lab test unit notebooks slow lint student bench execute clean
help:
	@echo "make lab       start JupyterLab on notebooks/00_welcome.ipynb (sets up .venv first)"
	@echo "make test      unit tests, notebook policy tests, ruff and strict nbval of every notebook"
	@echo "make student   write student editions (no solutions) to student/"
	@echo "make bench     time every notebook; writes benchmarks/"
	@echo "make execute   re-execute notebooks in place (NB=notebooks/01_tensors.ipynb for one)"

venv: $(STAMP)
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --LabApp.default_url=/lab/tree/notebooks/00_welcome.ipynb \
	    --LabServerApp.app_settings_dir=binder/lab-settings $(LAB_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check course_utils tests notebooks datasets

# unit tests of course_utils, policy and pin tests, the browser test (skips without Chromium)
unit: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -q -m "not slow" tests

# strict nbval: every notebook re-executed in a fresh kernel, each output compared with the stored one
notebooks: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -q $(NBVAL) -n 2 --dist loadfile $(NB)

# whole-notebook runs: reproducible outputs, memory budget, student editions
slow: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -q -m slow -n 2 tests/notebooks

test: lint unit notebooks slow

student: $(STAMP)
	$(BIN)/python -m course_utils.dev.student notebooks student

bench: $(STAMP)
	$(RUN_ENV) $(BIN)/python -m course_utils.dev.bench $(BENCH_ARGS)

execute: $(STAMP)
	$(RUN_ENV) $(BIN)/python -m course_utils.dev.execute $(NB)

clean:
	rm -rf $(VENV) student .pytest_cache .ruff_cache
