# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and install kdedge into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNS ?= runs
STAMP := $(VENV)/.installed

.PHONY: install demo test test-slow docs lint clean mcu-check arm64-board

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# teacher -> KD student and hard-label baseline -> ONNX (parity-checked) -> bench table on digits
demo: install
	$(BIN)/kdedge teacher train --data digits --out $(RUNS)/teacher --overwrite
	$(BIN)/kdedge distill --teacher $(RUNS)/teacher --student mlp --method kd --temperature 4 --alpha 0.9 --out $(RUNS)/mlp --overwrite
	$(BIN)/kdedge distill --teacher $(RUNS)/teacher --student mlp --method hard --out $(RUNS)/mlp-hard --overwrite
	$(BIN)/kdedge export $(RUNS)/teacher $(RUNS)/mlp $(RUNS)/mlp-hard
	$(BIN)/kdedge bench $(RUNS)/mlp $(RUNS)/mlp-hard $(RUNS)/teacher --data digits --out $(RUNS)/bench.json --overwrite

# the fast suite; test-slow: the tests that start real kdedge processes and kill -9 them (tests/faults/test_kill.py)
test: install
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: install
	$(BIN)/python -m pytest -q -m slow

# the docs site into site/: the reference pages generated from the code, then a strict build (a broken link fails)
DOCS_STAMP := $(VENV)/.docs-installed
$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(BIN)/python docs/build_reference.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# a C export on an emulated Cortex-M4 (QEMU mps2-an386), labels checked against model.onnx: make mcu-check RUN=runs/mlp
# (the int8 C of `kdedge export RUN --target c-int8`: make mcu-check RUN=runs/mlp INT8=1)
mcu-check: install
	$(BIN)/python -m kdedge.convert.c.qemu $(RUN) $(if $(INT8),--int8)

# an emulated ARM64 board (debootstrap + qemu-user-static, root): bench --on against it, ARM64-vs-x86 output parity
arm64-board: install
	PYTHON=$(BIN)/python bash benchmarks/arm64_board.sh

lint: install
	$(BIN)/ruff check kdedge tests benchmarks

clean:
	rm -rf $(VENV) $(RUNS) .pytest_cache site
