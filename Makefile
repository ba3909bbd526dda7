# Topup: every set-up step a newcomer needs, from a machine with only Python ≥ 3.11 and make.
#   make run    install everything and serve http://127.0.0.1:8000 (docs at /docs)
#   make test   install everything, then lint, type-check, audit the dependencies and run the
#               whole test suite
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON := $(shell command -v $(PYTHON))
export UV_PYTHON_DOWNLOADS := never

.PHONY: install run test lint audit pytest bench bench-tools bench-profile bench-lookup bench-orders catalogue messages clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Installs exactly what uv.lock pins, into .venv.
install: $(UV)
	$(UV) sync --frozen --quiet

run: install
	$(VENV)/bin/topup serve

test: install lint audit pytest

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# pip-audit over every pin of uv.lock; AUDIT_ARGS=--strict also fails on a package that
# could not be looked up (see scripts/audit.py).
audit: install
	$(VENV)/bin/python -m scripts.audit --uv $(UV) $(AUDIT_ARGS)

pytest:
	$(VENV)/bin/pytest

# The whole-service benchmark (README, "Speed"): pgbench as the yardstick, Topup served as in
# production and loaded from another process, statements counted per top-up, and reads at
# 10 million orders. Needs PostgreSQL and Redis running; BENCH_ARGS passes options, e.g.
# BENCH_ARGS="--scale-orders 0" to leave out the 10-million-order database.
bench: install bench-tools
	$(VENV)/bin/python -m scripts.bench $(BENCH_ARGS)

# wrk drives GET /v1/lookup and pgbench is PostgreSQL's own; both from Debian's packages.
bench-tools:
	@command -v wrk >/dev/null && command -v pgbench >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq wrk postgresql-client >/dev/null)

# Where a top-up's time goes: pyinstrument over the in-process path; writes
# bench-results/profile.html.
bench-profile: install
	$(VENV)/bin/python -m scripts.bench.profile $(BENCH_ARGS)

# Lookups per second, in-process (see README, "Speed").
bench-lookup: install
	$(VENV)/bin/python scripts/bench_lookup.py

# What the risk checks cost an order's placement, on SQLite (and PostgreSQL with
# BENCH_DATABASE=postgresql+asyncpg://…; a throw-away database is made beside it).
bench-orders: install
	$(VENV)/bin/python scripts/bench_orders.py $(if $(BENCH_DATABASE),--database $(BENCH_DATABASE) --json bench-results/orders-postgresql.json)

# Rebuild the shipped catalogue from libphonenumber, Babel and the FX snapshot.
catalogue: install
	$(VENV)/bin/python scripts/build_catalogue.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache .hypothesis topup.db*

# Extract the sentences of topup/templates/messages into the catalogues of topup/locale;
# translate what is new in each messages.po (the tests refuse an untranslated one).
messages: install
	$(VENV)/bin/pybabel extract -F babel.cfg --no-location --no-wrap --sort-output --project Topup --version 0.1.0 -o topup/locale/messages.pot .
	$(VENV)/bin/pybabel update --no-wrap --no-fuzzy-matching --ignore-obsolete -i topup/locale/messages.pot -d topup/locale

# PostgreSQL restarted under a stream of orders: a private cluster (initdb as the postgres
# user, on a free loopback port), `topup serve` and `topup worker` on it, several immediate
# restarts and stops; prints requests, 503s, 500s (must be 0), outages and recovery times.
# DB_FAULTS_ARGS passes options, e.g. DB_FAULTS_ARGS="--orders 1000 --restarts 5".
.PHONY: db-faults
db-faults: install
	$(VENV)/bin/python -m scripts.db_faults $(DB_FAULTS_ARGS)

.PHONY: soak
# The soak (README, "Speed"): Topup served as in production for --minutes (10) at half the
# maximum a short closed loop measures first, with zero errors, flat memory and a flat p99
# as computed verdicts; exits 1 when one fails. Writes bench-results/soak.json. Needs
# PostgreSQL and Redis; SOAK_ARGS passes options, e.g. SOAK_ARGS="--rate 10 --minutes 3".
soak: install
	$(VENV)/bin/python -m scripts.bench.soak $(SOAK_ARGS)

# The crash test at its larger size (README, "Crash test"): a few hundred orders over a few
# minutes, the API and two workers killed with SIGKILL at random and at every recovery
# point. Needs PostgreSQL; writes chaos-results/chaos.json. CHAOS_ARGS passes options.
.PHONY: chaos
chaos: install
	$(VENV)/bin/python -m scripts.chaos $(CHAOS_ARGS)
