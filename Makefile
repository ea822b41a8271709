# One-word entry points. Each builds .venv (Python ≥ 3.12) and installs the project first.
#   make dashboard   open the dashboard on the default scenario
#   make test        run the whole test suite
#   make check       the suite without the browser tests (between edits)
#   make bench       run the benchmarks (printed tables + benchmarks.json)
#   make campaign    run the long property-based and fuzzing campaign
#   make mutants     mutation testing of the rules (score per module, survivors)

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# The first Python ≥ 3.12 found: python3.13, python3.12, python3, then pyenv's installed versions.
find_python = for p in python3.13 python3.12 python3 $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3 /root/.pyenv/versions/3.1[2-9]*/bin/python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then command -v $$p; exit 0; fi; done; \
	echo "no Python >= 3.12 found (Mesa 3.5 needs it)" >&2; exit 1

.PHONY: dashboard test check bench campaign mutants lint install clean

$(STAMP): pyproject.toml
	@test -x $(PY) || "$$( $(find_python) )" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

dashboard: $(STAMP)
	$(VENV)/bin/regionsim dashboard capital_region

# The browser tests in one process, and beside them the rest at nice 19 (tests/suite.py says why and how).
test: $(STAMP)
	$(PY) tests/suite.py

# The tests without a browser alone: one pytest process per core (up to 4), an idle one taking tests from a busy one.
check: $(STAMP)
	$(PY) tests/suite.py --check

bench: $(STAMP)
	$(PY) -m pytest -q -s tests/benchmarks -p no:randomly --benchmarks

campaign: $(STAMP)
	REGIONSIM_CAMPAIGN=1 $(PY) -m pytest -q tests/test_properties.py tests/test_fuzz.py tests/test_kill.py tests/test_long_runs.py

mutants: $(STAMP)
	$(PY) tests/mutation/mutants.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
