#!/usr/bin/env bash
# Installs what the tests need, starts PostgreSQL and Redis if they are not
# running (Debian packages; run as root), then runs lint, the migrations
# check and the whole test suite against them. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
# Chromium for the browser test, promtool (in Debian's prometheus package)
# for the alert rules, gettext's xgettext for the translation check.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v xgettext >/dev/null 2>&1 || missing+=(gettext)
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# PostgreSQL: start the newest cluster, create the test role once.
pg_version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters --no-header | grep -q "^${pg_version} main .* online"; then
  pg_ctlcluster "$pg_version" main start
fi
for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
if ! su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname = 'hub'\"" | grep -q 1; then
  su postgres -c "psql -q -c \"CREATE ROLE hub LOGIN PASSWORD 'hub' CREATEDB\""
fi

# Redis
redis-cli ping >/dev/null 2>&1 || redis-server --daemonize yes --save "" --appendonly no
for _ in $(seq 30); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.2; done

python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements/test.txt

export DATABASE_URL="postgres://hub:hub@127.0.0.1:5432/hub"
export REDIS_URL="redis://127.0.0.1:6379/15"
export REQUIRE_SERVICES=1
export HUB_VAR_DIR="${TMPDIR:-/tmp}/hub-test-var"

.venv/bin/ruff check .
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null
.venv/bin/pytest "$@"
