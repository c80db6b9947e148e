"""The Prometheus alert rules: valid, unit-tested, and only about metrics /metrics exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

from apps.core.metrics import HubCollector

RULES_DIR = Path(settings.BASE_DIR) / "monitoring" / "prometheus"
RULES = RULES_DIR / "alerts.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
# Our metrics are all hub_*; recorded series are named level:metric:operations.
HUB_METRIC = re.compile(r"(?<![:\w])hub_[a-z0-9_]+(?![:\w])")
RECORDED = re.compile(r"\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b")


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"]
            for rule in group["rules"]]


def exported_sample_names() -> set[str]:
    """The sample names the real collector produces (run against the test database)."""
    names = set()
    for family in HubCollector().collect():
        if isinstance(family, CounterMetricFamily):
            names.add(f"{family.name}_total")
        elif isinstance(family, HistogramMetricFamily):
            names.update(f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count"))
        else:
            names.add(family.name)
    return names


@needs_promtool
def test_it_passes_promtool_check_rules():
    result = subprocess.run([PROMTOOL, "check", "rules", str(RULES)],  # noqa: S603
                            capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_it_passes_its_promtool_unit_tests():
    result = subprocess.run([PROMTOOL, "test", "rules", "alerts_test.yml"],  # noqa: S603
                            cwd=RULES_DIR, capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_it_only_uses_metrics_that_metrics_exports():
    exported = exported_sample_names()
    recorded = {rule["record"] for rule in rules() if "record" in rule}

    for rule in rules():
        used = set(HUB_METRIC.findall(rule["expr"]))
        unknown_recorded = set(RECORDED.findall(rule["expr"])) - recorded
        name = rule.get("alert") or rule["record"]
        assert used <= exported, f"{name} uses {sorted(used - exported)}"
        assert not unknown_recorded, f"{name} uses unrecorded {sorted(unknown_recorded)}"
        assert used or RECORDED.search(rule["expr"]), f"{name} uses no metric of ours"


def test_it_has_the_alerts_the_runbook_describes():
    alerts = {rule["alert"]: rule for rule in rules() if "alert" in rule}

    assert {"HubPlatformErrorRateHigh", "HubOutboxDeadOperations",
            "HubOutboxDeadOperationsGrowing", "HubAttentionItemsWaiting",
            "HubBreakerOpen"} <= set(alerts)
    assert alerts["HubBreakerOpen"]["for"] == "10m"
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
