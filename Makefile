# CareFlow: the two commands a newcomer needs are `make run` and `make test`.
# Python 3.11 is the only prerequisite; uv is installed from PyPI when missing.

PYTHON ?= python3.11
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
MANAGE := $(UV) run --frozen python manage.py
HOST ?= 127.0.0.1:8000

.PHONY: setup run test lint format schema bench backup restore test-faults messages screenshots

setup:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 \
		|| $(PYTHON) -m pip install --quiet --user uv
	$(UV) sync --frozen
	@# The pages' front-end packages (bpmn-js, chart.js) come from npm, only when Node.js is
	@# present; without it the diagram pages say the viewer is not installed.
	@if command -v npm >/dev/null 2>&1; then \
		cd web/frontend && npm ci --no-audit --no-fund --loglevel=error && node copy-vendor.mjs; \
	else echo "npm not found: skipping the diagram viewer and charts (web/frontend)"; fi

# Start CareFlow on SQLite with the demo group, its people and the shipped processes.
run: setup
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo
	$(MANAGE) deploy_processes
	$(MANAGE) runserver $(HOST)

lint: setup
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

# The whole suite. Uses PostgreSQL/Redis when DATABASE_URL / CELERY_BROKER_URL are set
# (.ci/run sets them), SQLite and eager Celery otherwise.
test: lint
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run
	$(UV) run --frozen pytest

# The fault tests (docs/reliability.md): a private PostgreSQL and redis-server are started,
# killed and restarted; a few minutes. Not part of `make test`; CI runs them as a second step.
test-faults: setup
	$(UV) run --frozen pytest -m faults

# Regenerate the committed OpenAPI schema after changing the API.
schema: setup
	$(MANAGE) spectacular --file api/openapi.yaml --validate --fail-on-warn

format: setup
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

# Benchmarks against PostgreSQL and Redis (not part of `make test`); figures and how to read
# them in docs/benchmarks.md. BENCH_DATABASE_URL / BENCH_REDIS_URL say where (defaults:
# postgres://postgres@127.0.0.1:5432/careflow_bench, redis://127.0.0.1:6379/14).
bench: setup
	$(UV) run --frozen python bench/run_all.py

# Backup and restore of the PostgreSQL database (docs/reliability.md). Keep the field
# encryption keys (CAREFLOW_FIELD_KEYS) with every dump.
#   make backup [FILE=careflow.dump]
#   make restore FILE=careflow.dump [INTO=postgres://user@host:5432/empty_database]
backup: setup
	$(MANAGE) backup $(or $(FILE),careflow-$(shell date -u +%Y%m%dT%H%M%SZ).dump)

restore: setup
	@test -n "$(FILE)" || { echo "usage: make restore FILE=careflow.dump [INTO=database url]"; exit 2; }
	$(MANAGE) restore $(FILE) $(if $(INTO),--database-url $(INTO))

# The pages' Chinese translation: extract the strings, fill them from web/locale/translate_zh.py,
# compile the .mo files (committed, so nobody else needs gettext).
messages: setup
	cd web && PYTHONPATH=.. DJANGO_SETTINGS_MODULE=config.settings $(UV) run --frozen \
		django-admin makemessages -l zh_Hans --no-location --ignore='frontend/*' --ignore='static/vendor/*'
	cd web && PYTHONPATH=.. DJANGO_SETTINGS_MODULE=config.settings $(UV) run --frozen \
		django-admin makemessages -d djangojs -l zh_Hans --no-location --ignore='frontend/*' --ignore='static/vendor/*'
	$(UV) run --frozen python web/locale/translate_zh.py
	cd web && PYTHONPATH=.. DJANGO_SETTINGS_MODULE=config.settings $(UV) run --frozen django-admin compilemessages

# Screenshots of every page from the demo data, in docs/screenshots/ (headless Chromium).
screenshots: setup
	@fc-list :lang=zh 2>/dev/null | grep -q . || { echo "no Chinese font: install one (apt-get install fonts-noto-cjk), or the pages come out as boxes"; exit 2; }
	CAREFLOW_REQUIRE_BROWSER=1 CAREFLOW_SCREENSHOTS=1 $(UV) run --frozen pytest -q tests/web/test_screenshots.py
