# Two entry points (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test env clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

env: $(STAMP)

demo: $(STAMP)
	$(BIN)/baton-lab report --demo --out reports/demo

# TESTS narrows the run to some test ids (.ci/run uses it); empty runs the whole suite.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup $(TESTS)

clean:
	rm -rf $(VENV) .pytest_cache
