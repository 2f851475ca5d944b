# amp-bench: `make demo` sets everything up on a fresh Debian 12 machine and runs the main job;
# `make test` sets up the same and runs the whole suite plus ruff. Both are idempotent.

PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
FW_BUILD    := $(CURDIR)/build/firmware
APT_PACKAGES := gcc gcc-arm-none-eabi binutils-arm-none-eabi make python3-venv \
                linux-source-6.1 gcc-arm-linux-gnueabi bc bison flex libssl-dev libelf-dev cpio \
                device-tree-compiler xz-utils patch gdb-multiarch cmake
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup apt venv unicorn firmware linux demo test examples robot docs lint perf clean

setup: apt venv unicorn

# Install the Debian packages only when one is missing (no apt run on a ready machine).
apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

# Unicorn with the bench's patches (third_party/unicorn), built once and cached outside the clone;
# its library replaces the wheel's in the venv (the engine runs with the plain wheel too, slower).
unicorn: apt venv
	third_party/unicorn/build.sh $(BIN)/python

firmware: apt
	$(MAKE) -C firmware BUILD=$(FW_BUILD) -j2

# Mainline Linux for the M4, built once per set of inputs and cached outside the clone,
# and the bench's init (the console agent) for its initramfs.
linux: apt
	linux/build.sh build/linux
	$(MAKE) -C linux/init BUILD=$(CURDIR)/build/linux-init

demo: setup firmware linux
	@for q in 10 1000 100000; do \
	  $(BIN)/bench run ipi --platform platforms/lpc4337.repl --rounds 1000 --quantum $$q \
	    --json artifacts/ipi-q$$q.json --artifacts artifacts/ipi-q$$q || exit $$?; \
	done
	@$(BIN)/python -c "import json,sys; d=[json.load(open(f'artifacts/ipi-q{q}.json')) for q in (10,1000,100000)]; \
	same=all(x['directions']==d[0]['directions'] and x['trace_digest']==d[0]['trace_digest'] for x in d); \
	print('quantum 10 / 1000 / 100000: identical directions and trace digest:', same); sys.exit(0 if same else 1)"
	$(BIN)/bench run boot --json artifacts/boot.json
	$(BIN)/bench run rproc-lifecycle --cycles 20 --json artifacts/rproc-lifecycle.json
	$(BIN)/bench run rpmsg-echo --sizes 1,17,64,255,496 --count 200 --json artifacts/rpmsg-echo.json
	$(BIN)/bench campaign --platform platforms/lpc4337.repl --size 496 --samples 2000 \
	  --json artifacts/campaign.json --out artifacts/campaign --no-progress

test: setup firmware linux
	$(BIN)/ruff check .
	$(BIN)/pytest -q

# The example pytest suite (two processes) and the Robot suites, with JUnit/xUnit and per-test artifacts.
examples: setup firmware linux
	$(BIN)/pytest examples/pytest -n 2 --junitxml=artifacts/pytest/junit.xml --amp-artifacts=artifacts/pytest

robot: setup firmware linux
	$(BIN)/robot --outputdir artifacts/robot --xunit xunit.xml robot/

# Keyword documentation of the Robot library (committed as docs/AmpBench.html).
docs: setup
	$(BIN)/libdoc bench.integrations.robot_library.AmpBench docs/AmpBench.html

perf: setup firmware
	$(BIN)/bench perf --json artifacts/perf.json

clean:
	rm -rf build artifacts
