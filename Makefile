# cnncourse: two commands do everything on a fresh machine.
#   make book   set up, provision MNIST, execute every lesson, build the HTML site
#   make test   set up, provision MNIST, run the unit tests and nbval on every lesson
# The virtual environment and the data are made once and reused.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NBVAL  := --nbval-lax --nbval-current-env --nbval-cell-timeout=900

.PHONY: help setup data book test test-unit test-lessons lab clean distclean

help:
	@echo "make book    build the course book into _build/html (set-up included)"
	@echo "make test    unit tests + nbval over every lesson (set-up included)"
	@echo "make lab     open the lessons in JupyterLab (.md lessons open as notebooks)"
	@echo "make data    provision and verify MNIST into data/ (offline route first)"
	@echo "make clean   remove the built book; make distclean also removes .venv and data/"

# The stamp depends on what is installed, so editing requirements.txt reinstalls.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	touch $@

setup: $(STAMP)

# Idempotent: verifies the SHA-256 of the four files and returns at once when they are fine.
data: $(STAMP)
	$(BIN)/python -m cnncourse.data

book: data
	$(BIN)/jupyter-book build -W -n --keep-going .
	@echo
	@echo "The book is in $(CURDIR)/_build/html/index.html"
	@echo "View it: open that file in a browser, or serve it with"
	@echo "    $(BIN)/python -m http.server -d _build/html 8000   and visit http://localhost:8000"

test-unit: data
	$(BIN)/python -m pytest -q tests

test-lessons: data
	$(BIN)/python -m pytest -q $(NBVAL) lessons

test: test-unit test-lessons

# JupyterLab opens .md files as Jupytext notebooks through the environment's settings overrides.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
lab: data
	mkdir -p $(dir $(LAB_OVERRIDES))
	printf '%s\n' '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}}}' > $(LAB_OVERRIDES)
	cd lessons && ../$(BIN)/jupyter lab

clean:
	rm -rf _build

distclean: clean
	rm -rf $(VENV) data *.egg-info
