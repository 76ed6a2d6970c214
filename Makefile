# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_OUT ?= results/demo

.PHONY: setup espeak demo test clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: the local CPU wheel; an unpinned resolve would pull CUDA packages.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# The Node example's onnxruntime-node, when Node is here (its test is skipped without it).
NODE_STAMP := examples/node/node_modules/.installed-stamp
$(NODE_STAMP): examples/node/package.json examples/node/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		(cd examples/node && npm ci --no-audit --no-fund --loglevel=error) && touch $(NODE_STAMP) \
		|| echo "warning: npm could not install examples/node; its test will be skipped"; \
	else echo "note: no npm here; the Node example's test will be skipped"; fi

# espeak-ng for corpora spoken in real voices (`facereact synth --voice espeak`), where apt can
# install it; without it that option says so and its tests are skipped.
espeak:
	@command -v espeak-ng >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
		SUDO=$$([ "$$(id -u)" -eq 0 ] || echo "sudo -n") && \
		{ $$SUDO apt-get install -y -qq espeak-ng >/dev/null 2>&1 || \
		  { $$SUDO apt-get update -qq >/dev/null 2>&1 && $$SUDO apt-get install -y -qq espeak-ng >/dev/null 2>&1; }; }; } \
		|| echo "note: could not install espeak-ng; --voice espeak is unavailable here and its tests are skipped"

setup: $(STAMP) $(NODE_STAMP) espeak

demo: setup
	$(BIN)/facereact demo --out $(DEMO_OUT)

test: setup
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) results
