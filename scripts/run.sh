#!/usr/bin/env bash
# The main job: install, set the hub up (manage.py setup_hub: translations,
# migrations, cache table, static files, schedules, demo manager and data),
# then run web + worker + beat + simulators on one machine. Needs only
# Python 3.11+. With DATABASE_URL / REDIS_URL unset it uses SQLite and a
# filesystem broker.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
mkdir -p var
# pip's own chatter (and the warnings a machine's pip configuration may add
# for every package) goes to a file, shown only if the install fails.
pip_log=var/pip-install.log
if ! .venv/bin/pip install --disable-pip-version-check --no-input \
        -r requirements/base.txt >"$pip_log" 2>&1; then
    cat "$pip_log" >&2
    echo "Installing the requirements failed; the output above is also in $pip_log." >&2
    exit 1
fi
export PATH="$PWD/.venv/bin:$PATH"

python manage.py setup_hub

echo
echo "Admin:     ${HUB_BASE_URL:-http://127.0.0.1:8000}/admin/"
echo "API docs:  ${HUB_BASE_URL:-http://127.0.0.1:8000}/api/docs/"
echo "Health:    ${HUB_BASE_URL:-http://127.0.0.1:8000}/healthz"
echo "Stop with Ctrl-C."
echo
# honcho prefixes each line with its own local time: UTC, like the log lines.
TZ=UTC exec honcho --procfile Procfile.dev start
