#!/usr/bin/env bash
# The main job: install, migrate, create the demo manager and demo data, then
# run web + worker + beat + simulators on one machine. Needs only Python 3.11+.
# With DATABASE_URL / REDIS_URL unset it uses SQLite and a filesystem broker.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements/base.txt
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p var

python manage.py migrate --noinput
python manage.py createcachetable
python manage.py collectstatic --noinput --verbosity 0
python manage.py setup_schedules
python manage.py setup_demo

echo
echo "Admin:     ${HUB_BASE_URL:-http://127.0.0.1:8000}/admin/"
echo "API docs:  ${HUB_BASE_URL:-http://127.0.0.1:8000}/api/docs/"
echo "Health:    ${HUB_BASE_URL:-http://127.0.0.1:8000}/healthz"
echo "Stop with Ctrl-C."
echo
exec honcho --procfile Procfile.dev start
