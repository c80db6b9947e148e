"""Settings for benchmarks: the hub's, plus a bare view and a test inbox."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.bench_urls"
DEBUG = False
LOGGING["root"]["level"] = "WARNING"  # noqa: F405 - access logs would dominate the timing
BENCH_WEBHOOK_SECRET = "bench-webhook-secret"  # noqa: S105 - a benchmark constant
