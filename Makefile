# cnncourse: two commands do everything on a fresh machine.
#   make book   set up, provision MNIST, execute every lesson, build the HTML site
#   make test   set up, provision MNIST, run the unit tests and nbval on every lesson
# The virtual environment and the data are made once and reused.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NBVAL  := --nbval-lax --nbval-current-env --nbval-cell-timeout=900

# OpenMP worker threads wait by sleeping instead of spinning (read once, when torch loads, so it
# must be in the environment of every kernel): with another program on one of 2 cores, spinning
# made PyTorch's two threads 4-8x slower than one (see cnncourse.runtime.configure_threads).
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: test-lane-kernel test-lane-browser help bench seeds stem-search mutants fuzz setup data book pdf test-pdf lint test test-unit test-lessons test-outputs test-site test-lab student test-student grade lab clean distclean

help:
	@echo "make book    build the course book into _build/html (set-up included)"
	@echo "make test    unit tests + nbval over every lesson (set-up included); once the book is built,"
	@echo "             outputs are compared with the build's and the site is tested in a browser"
	@echo "make lint    ruff and the import-layer contract (part of make test)"
	@echo "make test-outputs  nbval --nbval over the executed notebooks of the last book build"
	@echo "make test-site     headless-Chromium check + screenshots of the built site (_build/html)"
	@echo "make test-lab      every lesson opened, run, answered and saved in a real JupyterLab (artifacts/lab)"
	@echo "make pdf     the whole book as one PDF, _build/latex/cnncourse.pdf (from the executed lessons)"
	@echo "make test-pdf      read the PDF: every page, figure and glossary term there, nothing cut off"
	@echo "make student the student edition: every lesson as .ipynb without its solutions (_build/student);"
	@echo "             LESSONS=\"lessons/05-kernel-convolution.md ...\" for some lessons only"
	@echo "make grade SUBMISSIONS=DIR [TIMEOUT=600]  grade DIR/<student>/<lesson>.ipynb with the course's checkers:"
	@echo "             DIR/grades.csv and DIR/grades.md (each notebook run in a fresh kernel, in a scratch copy)"
	@echo "make lab     open the lessons in JupyterLab (.md lessons open as notebooks, MyST rendered)"
	@echo "make bench   speed/accuracy benchmark table (benchmarks/run.py)"
	@echo "make seeds   validation and test accuracy of the lessons' recipes over five seeds, float32 and bf16 (benchmarks/seeds.py)"
	@echo "make stem-search  how lesson 10's network was chosen: candidates' rates and validation accuracy (benchmarks/stem_search.py)"
	@echo "make mutants break the code on purpose, one check at a time, and see the tests notice"
	@echo "make fuzz    the API fuzz test with many more examples per callable (tests/test_fuzz_api.py; make test runs a short profile)"
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

# The book is rebuilt, executing every lesson from scratch (--all), when any of its sources or
# the library changed since the last build; otherwise `make book` only says where the site is.
BOOK_SOURCES := _config.yml _toc.yml requirements.txt scripts/vendor_js.py $(wildcard lessons/*.md book/*.md \
                book/*.bib book/_ext/*.py book/_ext/static/* book/_templates/* cnncourse/*.py cnncourse/*/*.py cnncourse/*/*.js)
BOOK_STAMP := _build/html/.built

# The site's JavaScript (MathJax, RequireJS, the widget manager, anywidget's front end), pinned and
# hash-checked, from the npm registry and the installed anywidget wheel: fetched here, before the
# offline build (book/_ext/offline_site.py only checks that it is complete).
VENDOR := book/_vendor/VERSIONS.json
$(VENDOR): scripts/vendor_js.py $(STAMP)
	$(BIN)/python scripts/vendor_js.py

$(BOOK_STAMP): $(STAMP) $(BOOK_SOURCES) $(VENDOR) | data
	scripts/offline $(BIN)/jupyter-book build --all -W -n --keep-going .
	touch $@

book: data $(BOOK_STAMP)
	@$(MAKE) --no-print-directory pdf || echo "make book: no PDF this time (see above); the site is complete without it"
	@echo
	@echo "The book is in $(CURDIR)/_build/html/index.html"
	@echo "View it: open that file in a browser, or serve it with"
	@echo "    $(BIN)/python -m http.server -d _build/html 8000   and visit http://localhost:8000"

# The PDF is made from the notebooks the book build executed (no second execution), with
# xelatex; scripts/pdf-setup.sh installs Debian's LaTeX packages when they are missing.
PDF := _build/latex/cnncourse.pdf
$(PDF): $(BOOK_STAMP) scripts/pdf.py book/latex/bbm.sty
	bash scripts/pdf-setup.sh
	$(BIN)/python scripts/pdf.py

pdf: data $(PDF)

# Building the PDF first (and so the book, when it is missing or stale) means the test never skips.
test-pdf: data $(PDF)
	$(BIN)/python -m pytest -q tests/pdf

test-unit: data
	$(BIN)/python -m pytest -q tests --ignore=tests/pdf --ignore=tests/lab --ignore=tests/student

# Every lesson runs under nbval, with no network. When the built book is up to date, its executed
# notebooks are re-run and every output compared (test-outputs, which also proves every cell
# runs); otherwise the .md lessons are run and no cell may raise. Either way each lesson runs once.
test-lessons: data
	@if [ -f $(BOOK_STAMP) ] && [ -z "$$(find $(BOOK_SOURCES) -newer $(BOOK_STAMP) 2>/dev/null | head -n 1)" ]; then \
	  echo "test-lessons: the built book is up to date, so its outputs are compared (make test-outputs)"; \
	  $(MAKE) --no-print-directory test-outputs; \
	else \
	  echo "scripts/offline $(BIN)/python -m pytest -q $(NBVAL) lessons"; \
	  scripts/offline $(BIN)/python -m pytest -q $(NBVAL) lessons; \
	fi

# Strict reproducibility: re-run the executed notebooks of the last `make book` and compare every
# output (text/plain, text/html, stdout, stderr; PNGs are not compared) after nbval-sanitize.cfg.
# nbval re-runs the code stored in each executed notebook with today's cnncourse and data, so the
# check is skipped (with a note) when the book has not been built, or when a source of the book
# (BOOK_SOURCES) is newer than the last `make book`; the notebook of a deleted lesson is skipped.
EXECUTED := _build/jupyter_execute/lessons
NBVAL_STRICT := --nbval --nbval-current-env --nbval-cell-timeout=900 --nbval-sanitize-with nbval-sanitize.cfg
test-outputs: data
	@if [ ! -d $(EXECUTED) ]; then echo "test-outputs: skipped, no $(EXECUTED) (make book writes it)"; exit 0; fi; \
	newer=$$(find $(BOOK_SOURCES) -newer $(BOOK_STAMP) 2>/dev/null | head -n 1); \
	if [ -f $(BOOK_STAMP) ] && [ -n "$$newer" ]; then \
	  echo "test-outputs: skipped, the built book is older than $$newer (run make book)"; exit 0; fi; \
	nbs=""; for nb in $(EXECUTED)/*.ipynb; do \
	  [ -e "$$nb" ] || continue; src="lessons/$$(basename "$$nb" .ipynb).md"; \
	  if [ ! -e "$$src" ]; then echo "test-outputs: skipping $$nb (no $$src)"; \
	  else nbs="$$nbs $$nb"; fi; \
	done; \
	if [ -z "$$nbs" ]; then echo "test-outputs: no executed notebook to compare"; exit 0; fi; \
	echo "scripts/offline $(BIN)/python -m pytest -q $(NBVAL_STRICT) $(EXECUTED)/*.ipynb"; \
	scripts/offline $(BIN)/python -m pytest -q $(NBVAL_STRICT) $$nbs

# Browser test of the built site (tests/site, pytest-playwright): setup.sh installs Debian's
# chromium if it is missing; every request to another host is blocked by the test itself.
# axe-core (the accessibility check of every page) is vendored for the test alone, pinned and
# hash-checked like the site's JavaScript (scripts/vendor_js.py --axe; not part of the site).
AXE := tests/site/_vendor/VERSIONS.json
$(AXE): scripts/vendor_js.py $(STAMP)
	$(BIN)/python scripts/vendor_js.py --axe

test-site: setup $(AXE)
	@if [ ! -f _build/html/index.html ]; then echo "test-site: no _build/html: run make book (make test does)"; exit 1; fi
	bash tests/site/setup.sh && scripts/offline $(BIN)/python -m pytest -q -p no:cacheprovider tests/site

# Style and the floors of the package (pyproject.toml: [tool.ruff], [tool.importlinter]).
lint: setup
	$(BIN)/ruff check cnncourse tests scripts benchmarks conftest.py book/_ext
	$(BIN)/lint-imports

# make test builds the book first when it is missing or older than its sources, so that the
# strict output comparison and the browser test always run (none is skipped in a fresh clone).
test: lint test-unit
	$(MAKE) --no-print-directory book
	$(MAKE) --no-print-directory -j2 --output-sync=target test-lane-kernel test-lane-browser

# After the book, the remaining tests run in two lanes side by side (make test, -j2): the lessons
# executed in the repository (nbval, then JupyterLab: both write data/checkpoints, so they take
# turns) and the rest (the PDF, the browser test of the site, the student edition, which runs in
# its own data folder). Each step's output is printed when it ends. On 2 cores a fresh-clone
# make test took 26 min with the lanes, 34 min one step after the other (README, Quick start).
test-lane-kernel: data
	$(MAKE) --no-print-directory test-lessons
	$(MAKE) --no-print-directory test-lab

test-lane-browser: data
	$(MAKE) --no-print-directory test-pdf
	$(MAKE) --no-print-directory test-site
	$(MAKE) --no-print-directory test-student

# The instructor's seat: the lessons without their solutions, one .ipynb each (cnncourse/teaching/student.py).
# LESSONS="lessons/05-kernel-convolution.md lessons/07-pooling.md" makes an edition of those lessons only.
student: setup
	$(BIN)/python -m cnncourse.teaching.student --out _build/student $(LESSONS)

# The grader (cnncourse/teaching/grade.py): every DIR/<student>/<lesson>.ipynb run in a fresh kernel in a
# scratch copy, TIMEOUT seconds at most, its answers judged by the course's checkers in the grader's own
# process; writes DIR/grades.csv and DIR/grades.md and nothing else in DIR.
TIMEOUT ?= 600
grade: data
	@if [ -z "$(SUBMISSIONS)" ]; then echo "make grade: say where the submissions are: make grade SUBMISSIONS=DIR [TIMEOUT=seconds]"; exit 2; fi
	$(BIN)/python -m cnncourse.teaching.grade "$(SUBMISSIONS)" --timeout "$(TIMEOUT)"

# Every student notebook runs top to bottom in a fresh kernel, offline (tests/student).
test-student: data student
	scripts/offline $(BIN)/python -m pytest -q -p no:cacheprovider tests/student

# The learner's seat (tests/lab): JupyterLab started as `make lab` starts it, on a scratch copy of the
# lessons; every lesson opened, run, its widgets moved, one exercise answered and saved (6.7 min on 2 cores).
test-lab: data
	bash tests/site/setup.sh && scripts/offline $(BIN)/python -m pytest -q -p no:cacheprovider tests/lab

# Speed and accuracy figures (not a test: nothing is asserted); see benchmarks/RESULTS.md.
bench: data
	$(BIN)/python benchmarks/run.py

# How much margin each lesson's accuracy target has, over seeds (not a test either).
seeds: data
	$(BIN)/python benchmarks/seeds.py

# How lesson 10's network was chosen: candidates' rates and validation accuracy (not a test).
stem-search: data
	$(BIN)/python benchmarks/stem_search.py

# Every public callable fuzzed one argument at a time (tests/test_fuzz_api.py, issue 37); make test-unit runs
# the short profile, this the long one (CNNCOURSE_FUZZ_OPEN=ignore also fuzzes the open findings).
fuzz: data
	CNNCOURSE_FUZZ=long $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_fuzz_api.py

# Each robustness test must fail against a deliberately broken copy (scripts/mutants.py).
mutants: data
	$(BIN)/python scripts/mutants.py

# The learner's seat (cnncourse/teaching/lab.py): JupyterLab at the course's root on 127.0.0.1, the .md
# lessons opening as notebooks rendered by jupyterlab-myst, the next free port if JUPYTER_PORT (or 8888) is
# taken, --allow-root as root. LAB_ARGS passes options through (e.g. LAB_ARGS=--no-browser).
lab: data
	$(BIN)/python -m cnncourse.teaching.lab $(LAB_ARGS)

clean:
	rm -rf _build

distclean: clean
	rm -rf $(VENV) data *.egg-info
