# Two commands on a fresh machine: `make site`, then `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
BUILD_ARGS ?=

.PHONY: site test serve status bench clean install install-render

site: install  ## install everything, then build public/ (trains only stale experiments)
	$(PY) build.py build $(BUILD_ARGS)

test: install  ## the whole test suite (CI runs exactly this)
	$(PY) -m pytest $(PYTEST_ARGS)

serve: install  ## local preview with live reload on http://localhost:$(PORT)/
	$(PY) build.py serve --port $(PORT)

status: install
	$(PY) build.py status

bench: install  ## benchmarks (not tests): see docs/BENCHMARKS.md
	$(PY) -m bench

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[train,test]'
	touch $@

# Render from frozen results only (GitHub Pages): the generator without torch/torchvision.
install-render: $(VENV)/.installed-render node_modules/.installed

$(VENV)/.installed-render: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

clean:  ## remove build output (keeps frozen results and any public.* copies of yours)
	rm -rf public .cache
