"""The hub's settings serving the test URLs, for a real gunicorn in the tests."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.core.urls"
