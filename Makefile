# Two commands on a fresh machine: `make site`, then `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
BUILD_ARGS ?=
# What PyTorch costs (torch 2.14.1 and torchvision with their CUDA libraries, from PyPI).
TORCH_SIZE := about 5.8 GiB to download and install

.PHONY: site test serve status bench clean install install-render install-train

# Renders from the frozen results with the render-only install (about 118 MiB); PyTorch is
# installed first only when this build would train: a result is stale or missing
# (`build.py status --check`), or BUILD_ARGS has --rerun.
site: install-render  ## build public/, installing PyTorch only if something must be trained
	@if $(PY) -c 'import torch' 2>/dev/null; then :; \
	elif [ -n "$(filter --frozen --no-train,$(BUILD_ARGS))" ]; then :; \
	elif [ -n "$(filter --rerun%,$(BUILD_ARGS))" ]; then \
	  echo "BUILD_ARGS asks for a rerun: installing PyTorch to train ($(TORCH_SIZE))"; \
	  $(MAKE) --no-print-directory install-train; \
	else \
	  out=$$($(PY) build.py status --check $(filter --quick,$(BUILD_ARGS)) 2>&1); rc=$$?; \
	  if [ $$rc -eq 3 ]; then \
	    printf '%s\n' "$$out" | grep -Ev '  fresh  |^recorded: '; \
	    echo "these results must be trained: installing PyTorch ($(TORCH_SIZE))"; \
	    $(MAKE) --no-print-directory install-train; \
	  elif [ $$rc -ne 0 ]; then printf '%s\n' "$$out" >&2; exit $$rc; fi; \
	fi
	$(PY) build.py build $(BUILD_ARGS)

test: install  ## the whole test suite (CI runs exactly this)
	$(PY) -m pytest $(PYTEST_ARGS)

serve: install-render  ## local preview with live reload on http://localhost:$(PORT)/ (never trains)
	$(PY) build.py serve --port $(PORT)

status: install-render
	$(PY) build.py status

bench: install  ## benchmarks (not tests): see docs/BENCHMARKS.md
	$(PY) -m bench

# Everything: the generator, PyTorch (the `train` extra) and the test tools.
install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@echo "installing the generator, PyTorch and the test tools ($(TORCH_SIZE))"
	$(PY) -m pip install -e '.[train,test]'
	touch $@

# Render from frozen results only (GitHub Pages): the generator without torch/torchvision.
install-render: $(VENV)/.installed-render node_modules/.installed

$(VENV)/.installed-render: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -e .
	touch $@

# The render install plus PyTorch, for `make site` when something must be trained.
install-train: $(VENV)/.installed-train

$(VENV)/.installed-train: pyproject.toml $(VENV)/.installed-render
	$(PY) -m pip install -e '.[train]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

clean:  ## remove build output (keeps frozen results)
	rm -rf public public.* .cache
