# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
API_TOKEN ?= demo-api-token
export API_TOKEN
# pytest-xdist workers for make test / make integration (0: in this process). The tests marked `exclusive` (floods
# with a latency bound for a control client) then run alone, after the parallel run: other tests' load would trip it.
TEST_WORKERS ?= 4
# Independent set-up steps (the venv beside node_modules, the linters beside the suite) run at the same time.
MAKEFLAGS += --jobs=4
# uv installs the venv from its cache in ~5 s where pip takes ~20 s (pip installs uv itself). It compiles the
# bytecode as pip does: without it each test worker would compile every library it imports.
UV_VERSION ?= 0.13.9
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider
# $(call two_phases,FOLDER): the tests in FOLDER not marked exclusive on the workers, then the exclusive ones alone.
two_phases = $(PYTEST) -n $(TEST_WORKERS) --dist worksteal -m 'not exclusive' $(1) && $(PYTEST) -m exclusive $(1)

.PHONY: run test suite install services browser nginx lint unit integration bench clean vendor-asyncapi fuzz

NODE_STAMP := node_modules/.installed-stamp

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q 'uv==$(UV_VERSION)'
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev]'
	touch $(STAMP)

# The stock socket.io JavaScript client, pinned by package-lock.json (tests and served pages use it).
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

run: install
	$(BIN)/vedfolnir-realtime db upgrade
	$(BIN)/vedfolnir-realtime demo seed
	@echo ""
	@echo "Demo sessions (cookie '$${SESSION_COOKIE_NAME:-session}', or auth={session_id, csrf_token}):"
	@echo "  $(BIN)/vedfolnir-realtime sessions issue demo     # the demo user (reviewer)"
	@echo "  $(BIN)/vedfolnir-realtime sessions issue admin    # the demo admin"
	@echo "HTTP API bearer token: $(API_TOKEN)"
	@echo ""
	DEMO_MODE=true $(BIN)/vedfolnir-realtime serve

services:
	bash .ci/services.sh

# The AsyncAPI page's renderer, copied into the package so `pip install .` serves it (see its README.md).
ASYNCAPI_VENDOR := adapters/inbound/static/vendor/asyncapi
vendor-asyncapi: $(NODE_STAMP)
	cp node_modules/@asyncapi/react-component/browser/standalone/index.js \
	   node_modules/@asyncapi/react-component/browser/standalone/index.js.LICENSE.txt \
	   node_modules/@asyncapi/react-component/styles/default.min.css \
	   node_modules/@asyncapi/react-component/LICENSE $(ASYNCAPI_VENDOR)/

# Debian's nginx for the reverse-proxy tests (tests start their own instance; idempotent).
nginx:
	bash .ci/nginx.sh

lint: install
	$(BIN)/ruff check -q .
	$(BIN)/ruff format -q --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: install
	$(PYTEST) tests/unit

integration: install services
	$(call two_phases,tests/integration)

browser: install
	bash .ci/browser.sh

# The linters run beside the suite (--jobs): make test fails if either fails.
test: lint suite

suite: install services browser nginx
	$(call two_phases,tests)

# 100,000 malformed frames and payloads over both transports against a real server process (tests/integration/fuzz.py).
fuzz: install
	$(BIN)/python -m tests.integration.fuzz --frames 100000

bench: install services
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build dist *.egg-info vedfolnir-realtime.db*
