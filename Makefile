# One entry point for people and CI. `make test` works on a fresh Debian machine: it installs the Debian
# packages (SIP peers, audio tools), creates the virtual environment, installs the project and runs the suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
DEB_PACKAGES := sip-tester baresip-core kamailio sox libsox-fmt-base espeak-ng tcpdump iproute2 procps
PYTEST_ARGS ?=

.PHONY: install deps-debian venv lint typecheck test test-unit test-sip bench-media bench-asr bench-tts clean

install: deps-debian venv

# apt only when something is missing, so repeated runs stay offline and fast.
deps-debian:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(STAMPS)/venv

$(STAMPS)/venv: pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

# The whole suite: every tier (unit, sip, models, browser, slow), plus lint and types.
test: install lint typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: venv
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

test-sip: install
	$(PY) -m pytest -m sip $(PYTEST_ARGS)

bench-media: install
	$(VENV)/bin/callcenter bench media --legs 40 --seconds 20

bench-asr: install
	$(VENV)/bin/callcenter bench asr

bench-tts: install
	$(VENV)/bin/callcenter bench tts

clean:
	rm -rf $(VENV) $(STAMPS) .pytest_cache .mypy_cache .ruff_cache *.egg-info
