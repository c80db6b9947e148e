"""Two hubs on one machine must not share gunicorn's control socket."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from django.conf import settings


@pytest.mark.parametrize("procfile", ["Procfile", "Procfile.dev"])
def test_it_gives_gunicorn_no_shared_control_socket(procfile):
    web = next(line for line in (Path(settings.BASE_DIR) / procfile).read_text().splitlines()
               if line.startswith("web:"))
    arguments = shlex.split(web.partition(":")[2])

    assert arguments[0] == "gunicorn"
    # gunicorn's default socket is ~/.gunicorn/gunicorn.ctl, one path for every instance.
    assert "--no-control-socket" in arguments or "--control-socket" in arguments
