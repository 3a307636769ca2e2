# Quick start: `make demo` and `make test`. Both create .venv when missing and install into it.
# `make lint`: ruff, mypy and the import-layering test (tools pinned in pyproject.toml).
VENV ?= .venv
PYTHON ?= python3
# The CPU build of torch that pip can install offline on this machine. An already-installed torch
# is kept as it is (set TORCH_SPEC to another requirement to choose a build yourself).
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.vdbench-installed
DEMO_OUT ?= demo-out
PYTEST_ARGS ?=

.PHONY: demo demo-fvd test test-slow test-slow-readme lint install clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[test,lint]"
	@# torch-fidelity (FID Inception) without its torchvision requirement, which would replace
	@# the installed torch build (see pyproject.toml, extra `inception`).
	$(PY) -m pip install -q --no-deps "torch-fidelity>=0.3,<0.5"
	@# lpips (the second LPIPS implementation tests/test_lpips.py compares with) and torchvision
	@# (torch 2.N pairs with torchvision 0.(N+15)), without deps for the same reason.
	$(PY) -m pip install -q --no-deps "lpips>=0.1.4,<0.2" "torchvision==$$($(PY) -c \
		'import torch; print("0.%d.*" % (int(torch.__version__.split(".")[1]) + 15))')"
	@touch $(STAMP)

# The embedded default: a model trained here on the procedural sprites (checkpoints/), the
# BAIR-style 1 -> 15 prediction protocol on it with the real I3D, and the paper's comparison of
# replacement vs reconstruction guidance (Section 3.1) in one `compare`, beside two trivial
# generators, every value with its 95% interval and a paired verdict against reconstruction.
DEMO_CKPT ?= checkpoints/shapes-tiny-v
VDB := $(VENV)/bin/vdbench

demo: $(STAMP)
	$(VDB) compare shapes --conditioning replacement,reconstruction --baseline reconstruction \
		--baselines repeat-last,random-sprites --preset quick --checkpoint $(DEMO_CKPT) \
		--batch-size 16 --out $(DEMO_OUT)
	@echo "sample grids (conditioning frame framed in yellow): $(DEMO_OUT)/samples-*.png / .gif"

demo-fvd: $(STAMP)
	$(PY) -m vdbench.demo --out $(DEMO_OUT)

test: $(STAMP)
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

# The README's slow example blocks alone (`make demo` and the UCF101 / text-to-video examples).
test-slow-readme: $(STAMP)
	$(PY) -m pytest -m slow -n 2 -k test_readme_block_runs $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check vdbench tests
	$(PY) -m mypy
	$(PY) -m pytest -q -p no:cacheprovider tests/test_layering.py

clean-venv:
	rm -rf $(VENV)
