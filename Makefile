# Set-up and entry points. Every target creates the virtual environment in
# .venv (inside the checkout) first, so each works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.sktune-installed

.PHONY: setup browser run test bench docs docs-images clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	# torch first, pinned: the CPU wheel; a looser spec would pull a CUDA build.
	$(BIN)/python -m pip install "torch==2.13.0"
	$(BIN)/python -m pip install -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

# Debian's chromium, for the test that renders a report in a real browser.
# Without root it is skipped with a warning (and that test skips, except in CI).
browser:
	@command -v chromium >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
	  echo "warning: could not install chromium (needs root); the browser test will skip"

# The main job: Bayesian search of an sktune network on the bundled digits data,
# an HTML report and the saved model (the same command any user can type).
run: $(STAMP)
	$(BIN)/sktune tune --data digits --search bayes --n-jobs 2 \
	  --report reports/digits_report.html --save reports/digits.sktune

test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 tests

# The documentation site (Sphinx): docs/_build/html/index.html; fails on any warning.
# The report screenshots are made again first (a real search, in chromium).
docs: docs-images
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

docs-images: $(STAMP) browser
	$(BIN)/python docs/img/make_report_png.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_training_loop.py

clean:
	rm -rf $(VENV) build *.egg-info
