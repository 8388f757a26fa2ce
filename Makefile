# Targets are what people type: make book, make test, make zoo, make bench (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: install test clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,book]'
	touch $@

test: install
	$(PY) -m pytest -q

clean:
	rm -rf book/_build .pytest_cache
