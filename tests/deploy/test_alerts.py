"""The Prometheus alert rules watch metrics the kit really exports, with labels those metrics really have,
and every alert has a runbook section that tells on-call what to do."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from kit import metrics
from tests.deploy.appconfig import ROOT

RULES_FILE = ROOT / "deploy/k8s/base/prometheus/alerts.yaml"
RUNBOOK = (ROOT / "docs/runbook.md").read_text()
RULES: list[dict[str, Any]] = [
    r for g in yaml.safe_load(RULES_FILE.read_text())["groups"] for r in g["rules"]
]
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "unless", "and", "or", "le"}


def exported_series() -> dict[str, tuple[MetricWrapperBase, set[str]]]:
    """Series name -> (metric, its label names) for every metric in kit.metrics, as Prometheus sees them."""
    series: dict[str, tuple[MetricWrapperBase, set[str]]] = {}
    for value in vars(metrics).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        labels = set(value._labelnames)
        name = value._name
        if isinstance(value, Counter):
            series[f"{name}_total"] = (value, labels)
        elif isinstance(value, Histogram):
            for suffix in ("_bucket", "_count", "_sum"):
                series[name + suffix] = (value, labels | ({"le"} if suffix == "_bucket" else set()))
        elif isinstance(value, Gauge):
            series[name] = (value, labels)
    return series


SERIES = exported_series()


def selectors(expr: str) -> list[tuple[str, set[str]]]:
    """(metric, label names matched) for every `metric{...}` or bare `metric` in a PromQL expression."""
    found = []
    for match in re.finditer(r"\b(parity_[a-z_]+)\b(\{([^}]*)\})?", expr):
        labels = set(re.findall(r"([a-z_]+)\s*(?:=~|!~|!=|=)", match.group(3) or ""))
        found.append((match.group(1), labels))
    return found


def grouping_labels(expr: str) -> set[str]:
    return {
        label.strip()
        for group in re.findall(r"\b(?:by|on|without|ignoring)\s*\(([^)]*)\)", expr)
        for label in group.split(",")
        if label.strip()
    }


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r["alert"])
def test_alert_watches_metrics_that_the_kit_exports(rule: dict[str, Any]) -> None:
    used = selectors(rule["expr"])
    assert used, "an alert on no Parity metric"
    for metric, _ in used:
        assert metric in SERIES, f"{rule['alert']}: {metric} is not exported by kit.metrics"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r["alert"])
def test_alert_matches_and_groups_only_by_labels_those_metrics_have(rule: dict[str, Any]) -> None:
    used = selectors(rule["expr"])
    available = set.intersection(*(SERIES[m][1] for m, _ in used))
    for metric, labels in used:
        assert labels <= SERIES[metric][1], (
            f"{rule['alert']}: {metric} has no label {labels - SERIES[metric][1]}"
        )
    assert grouping_labels(rule["expr"]) <= available | {"le"}, rule["alert"]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r["alert"])
def test_every_alert_has_a_severity_a_summary_and_a_runbook_section(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in {"warning", "critical"}
    assert rule["annotations"]["summary"]
    anchor = rule["alert"].lower()
    assert rule["annotations"]["runbook_url"].endswith(f"docs/runbook.md#{anchor}")
    assert re.search(rf"^#+ {rule['alert']}\s*$", RUNBOOK, re.MULTILINE), (
        f"no runbook section {rule['alert']}"
    )


def test_the_alerts_cover_what_on_call_is_paged_for() -> None:
    watched = {m for r in RULES for m, _ in selectors(r["expr"])}
    assert {
        "parity_dlq_messages_total",
        "parity_outbox_backlog",
        "parity_outbox_oldest_age_seconds",
        "parity_consumer_lag",
        "parity_upstream_request_duration_seconds_count",
    } <= watched
    upstreams = {u for r in RULES for u in re.findall(r'upstream="([a-z_]+)"', r["expr"])}
    assert {"clearinghouse", "smtp"} <= upstreams


def test_every_upstream_an_alert_watches_is_measured_by_the_code() -> None:
    """An alert on `upstream="x"` can only fire if some service records UPSTREAM_LATENCY for x."""
    sources = "\n".join(
        p.read_text()
        for p in (ROOT / "services").glob("*/src/**/*.py")
        if "UPSTREAM_LATENCY" in p.read_text()
    )
    recorded = set(re.findall(r'UPSTREAM_LATENCY\.labels\([^)]*?"([a-z_]+)"', sources)) | set(
        re.findall(r'upstream\s*=\s*"([a-z_]+)"', sources)
    )
    upstreams = {u for r in RULES for u in re.findall(r'upstream="([a-z_]+)"', r["expr"])}
    assert upstreams <= recorded, f"alerts watch upstreams nothing measures: {sorted(upstreams - recorded)}"


def test_the_rules_file_is_shipped_to_prometheus_by_the_kustomize_base() -> None:
    base = yaml.safe_load((ROOT / "deploy/k8s/base/kustomization.yaml").read_text())
    files = [f for g in base["configMapGenerator"] for f in g.get("files", [])]
    assert "prometheus/alerts.yaml" in files


def test_every_setting_the_docs_tell_on_call_to_change_is_one_the_code_reads() -> None:
    from tests.deploy.appconfig import SERVICES, for_factory

    known = set().union(*(for_factory(f"{s}.main:create_app").env_names() for s in (*SERVICES, "gateway")))
    for doc in ("docs/runbook.md", "docs/architecture.md"):
        named = set(re.findall(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`", (ROOT / doc).read_text()))
        assert named, doc
        assert named <= known, f"{doc} names settings no service reads: {sorted(named - known)}"
