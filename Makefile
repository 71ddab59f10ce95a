# lossviz developer tasks (GNU make).
#
#   make test    install everything needed, then run unit, browser and notebook tests
#   make lab     JupyterLab on http://127.0.0.1 serving notebooks/
#   make voila   notebooks/ served by Voila on http://127.0.0.1 (pick one)
#   make app     the classroom app: the playground notebook as a single-page Voila app
#   make lock    regenerate binder/requirements.txt (exact versions of everything lossviz runs on)
#   make bench   run benchmarks/run.py (training, losses, surfaces) , plots.py (plot updates), panel.py (the live panel)
#   make clean   remove build/test artifacts and the install stamp (keeps .venv)
#   make distclean   clean, and remove .venv too
#
# Works on a fresh Debian 12 machine with only python3: as root or via sudo, without stdin.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

PYTHON ?= python3
VENV = .venv
PY = $(VENV)/bin/python
PIP = $(PY) -m pip
# Rewritten whenever pyproject.toml, setup.py, the C kernel or the lock changes, so the install re-runs.
STAMP = $(VENV)/.lossviz-installed.stamp
# Exact versions of every runtime package (Binder installs exactly these; make test installs them too).
LOCK = binder/requirements.txt
APP_NOTEBOOK = notebooks/07_classroom_app.ipynb
TORCH_SPEC = torch==2.13.0
CHROMIUM = /usr/bin/chromium

LAB_PORT ?= 8888
VOILA_PORT ?= 8866
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
# Only pass notebooks/ to pytest once it exists (pytest errors on a missing path).
NOTEBOOK_DIRS := $(wildcard notebooks)

export PIP_DISABLE_PIP_VERSION_CHECK = 1
export PIP_NO_INPUT = 1
export DEBIAN_FRONTEND = noninteractive

.PHONY: venv build-deps browser-deps test lab voila app lock bench clean distclean

venv: $(STAMP)

# `apt_install PACKAGE...`, a shell function for the recipes below: apt-get install as root or with
# sudo; returns 3 when neither (or apt-get itself) is at hand, apt-get's status otherwise.
APT_INSTALL = apt_install() { \
  if [ "$$(id -u)" = 0 ]; then SUDO=""; \
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
  else return 3; fi; \
  command -v apt-get >/dev/null || return 3; \
  $$SUDO apt-get -o DPkg::Lock::Timeout=300 update \
    && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y "$$@"; \
}

$(PY):
	@echo ">>> creating $(VENV) with $$($(PYTHON) --version)"
	@$(APT_INSTALL); \
	if ! $(PYTHON) -m venv $(VENV); then \
	  echo ">>> '$(PYTHON) -m venv' failed; trying to install Debian's python3-venv"; \
	  rm -rf $(VENV); \
	  status=0; apt_install python3-venv || status=$$?; \
	  if [ $$status = 3 ]; then echo "!!! not root, no sudo or no apt-get: install python3-venv yourself"; exit 1; fi; \
	  $(PYTHON) -m venv $(VENV); \
	fi

$(STAMP): pyproject.toml setup.py lossviz/train/_ctc.c $(LOCK) | $(PY) build-deps
	$(PIP) install -c $(LOCK) -e ".[dev]"
	@if $(PY) -c 'import torch' 2>/dev/null; then \
	  echo ">>> torch $$($(PY) -c 'import torch; print(torch.__version__)') already installed"; \
	elif $(PIP) install "$(TORCH_SPEC)"; then \
	  echo ">>> installed $(TORCH_SPEC)"; \
	else \
	  echo "!!! could not install $(TORCH_SPEC): the PyTorch parity tests will be skipped"; \
	fi
	@touch $@

# lossviz's one C extension (CTC's forward-backward, lossviz/train/_ctc.c) needs a C compiler and Python's
# headers. Without them the install still succeeds, and CTC runs in numpy (about 1.6x slower training).
CAN_BUILD_C = import os, shutil, sys, sysconfig; \
  cc = (sysconfig.get_config_var("CC") or "cc").split()[0]; \
  sys.exit(0 if shutil.which(cc) and os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)

build-deps: | $(PY)
	@$(APT_INSTALL); \
	if ! $(PY) -c '$(CAN_BUILD_C)'; then \
	  echo ">>> no C compiler or no Python headers: installing gcc + python3-dev (for lossviz's CTC kernel)"; \
	  apt_install gcc python3-dev || echo "!!! could not install gcc / python3-dev: CTC will run in numpy (slower)"; \
	fi

browser-deps:
	@$(APT_INSTALL); \
	if [ -x $(CHROMIUM) ]; then \
	  echo ">>> browser: $$($(CHROMIUM) --version 2>/dev/null || echo $(CHROMIUM))"; \
	else \
	  echo ">>> installing chromium + chromium-driver with apt-get"; \
	  status=0; apt_install chromium chromium-driver || status=$$?; \
	  if [ $$status = 0 ]; then \
	    echo ">>> browser: $$($(CHROMIUM) --version)"; \
	  elif [ $$status = 3 ]; then \
	    echo "!!! $(CHROMIUM) is missing and cannot be installed here (need root or sudo, and apt-get)."; \
	    echo "!!! Browser tests will be skipped (under CI=true they fail instead)."; \
	  else \
	    echo "!!! apt-get could not install chromium: browser tests will be skipped (under CI=true they fail)."; \
	  fi; \
	fi

test: $(STAMP) browser-deps
	MPLBACKEND=Agg $(PY) -m pytest --durations=15 --nbval-lax --nbval-current-env tests $(NOTEBOOK_DIRS)

lab: $(STAMP)
	@test -d notebooks || { echo "!!! notebooks/ does not exist yet"; exit 1; }
	@echo ">>> Starting JupyterLab. Open the http://127.0.0.1:$(LAB_PORT)/lab?token=... URL it prints below (Ctrl-C to stop)."
	$(VENV)/bin/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
	  --ServerApp.root_dir=notebooks $(ALLOW_ROOT)

voila: $(STAMP)
	@test -d notebooks || { echo "!!! notebooks/ does not exist yet"; exit 1; }
	@echo ">>> Starting Voila. Open http://127.0.0.1:$(VOILA_PORT)/ and pick a notebook (Ctrl-C to stop)."
	$(VENV)/bin/voila notebooks --no-browser --Voila.ip=127.0.0.1 --port=$(VOILA_PORT)

app: $(STAMP)
	@test -f $(APP_NOTEBOOK) || { echo "!!! $(APP_NOTEBOOK) does not exist yet"; exit 1; }
	@echo ">>> Starting the classroom app. Open http://127.0.0.1:$(VOILA_PORT)/ (Ctrl-C to stop)."
	$(VENV)/bin/voila $(APP_NOTEBOOK) --no-browser --Voila.ip=127.0.0.1 --port=$(VOILA_PORT) \
	  --theme=light --VoilaConfiguration.file_allowlist="['.*\.(png|jpg|svg)']"

# The lock: lossviz's runtime dependencies (pyproject.toml) plus the classroom's (Voila, ipympl), resolved
# in a fresh virtual environment and frozen. Binder installs it; make test installs with it as constraints.
lock:
	@rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install $$($(PYTHON) -c 'import tomllib; d = tomllib.load(open("pyproject.toml", "rb")); print(" ".join(r for r in d["project"]["dependencies"] + d["project"]["optional-dependencies"]["classroom"]))')
	{ echo "# Exact versions of everything lossviz runs on (Binder installs these). Regenerate: make lock"; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^lossviz'; } > $(LOCK)
	@rm -rf .venv-lock
	@echo ">>> wrote $(LOCK) ($$(grep -vc '^#' $(LOCK)) packages)"

bench: $(STAMP)
	$(PY) benchmarks/run.py
	MPLBACKEND=Agg $(PY) benchmarks/plots.py
	MPLBACKEND=Agg $(PY) benchmarks/panel.py

clean:
	rm -rf build dist .pytest_cache .hypothesis test-artifacts $(STAMP)
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' -o -name .ipynb_checkpoints \) \
	  -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
