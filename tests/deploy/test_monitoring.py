"""Monitoring as code: every metric a dashboard or alert names is one that really exists.

Prometheus names are checked against the `/metrics` of the real gateway (started with
`python -m gateway` on loopback), Cloud Run metric types against Cloud Run's built-in list, and
the alert thresholds against the rollout controller's own breach defaults.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from deploy.spec import CONTAINER_PORT
from rollout.settings import RolloutSettings
from tests.support.servers import free_port, wait_http_ok

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
SERVICES = ("ion-gateway", "ion-api", "ion-api-canary")

# Names fixed by DESIGN.md; the fallback if the gateway cannot be started here.
DESIGN_METRICS = {
    "gateway_requests_total": "counter",
    "gateway_request_duration_seconds": "histogram",
    "gateway_upstream_errors_total": "counter",
    "gateway_canary_percent": "gauge",
    "rollout_canary_percent": "gauge",
    "rollout_state": "gauge",
    "rollout_transitions_total": "counter",
    "rollout_verdicts_total": "counter",
    "rollout_rollbacks_total": "counter",
    "rollout_seconds_in_stage": "gauge",
}
# Cloud Run built-in metrics (cloud.google.com/monitoring/api/metrics_gcp, run.googleapis.com).
CLOUD_RUN_METRICS = {
    "run.googleapis.com/request_count",
    "run.googleapis.com/request_latencies",
    "run.googleapis.com/container/instance_count",
    "run.googleapis.com/container/billable_instance_time",
    "run.googleapis.com/container/cpu/utilizations",
    "run.googleapis.com/container/cpu/allocation_time",
    "run.googleapis.com/container/memory/utilizations",
    "run.googleapis.com/container/memory/allocation_time",
    "run.googleapis.com/container/max_request_concurrencies",
    "run.googleapis.com/container/startup_latencies",
    "run.googleapis.com/container/network/received_bytes_count",
    "run.googleapis.com/container/network/sent_bytes_count",
}
PROM_NAME = re.compile(r"\b((?:gateway|rollout)_[a-z_]+)\b")


def parse_types(text: str) -> dict[str, str]:
    """`# TYPE name kind` lines; counters keyed with their `_total` sample name."""
    kinds = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            if kind == "counter" and not name.endswith("_total"):
                name += "_total"
            kinds[name] = kind
    return kinds


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Metric families the real gateway (with its rollout) exports, by name -> kind."""
    if importlib.util.find_spec("gateway.__main__") is None:
        yield dict(DESIGN_METRICS)
        return
    port, cwd = free_port(), tmp_path_factory.mktemp("gateway")
    env = {"GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(port), "PATH": "/usr/bin:/bin"}
    with (cwd / "gateway.log").open("w") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway"], cwd=cwd, env=env, stdout=log, stderr=log
        )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/healthz", timeout=30)
        yield parse_types(httpx.get(f"http://127.0.0.1:{port}/metrics").text)
    finally:
        process.terminate()
        process.wait(timeout=10)


def promql_names(query: str, exported: dict[str, str]) -> set[str]:
    """Metric families a PromQL query reads (`_bucket`/`_sum`/`_count` mapped to the histogram)."""
    names = set()
    for name in PROM_NAME.findall(query):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        names.add(base if exported.get(base) == "histogram" else name)
    return names


def load(name: str) -> dict:
    return json.loads((MONITORING / name).read_text())


def cloud_widgets() -> list[dict]:
    return [tile["widget"] for tile in load("cloud_dashboard.json")["mosaicLayout"]["tiles"]]


def datasets(widget: dict) -> list[dict]:
    return [ds["timeSeriesQuery"] for ds in widget["xyChart"]["dataSets"]]


def test_the_gateway_exports_every_design_metric(exported) -> None:
    assert {n: exported.get(n) for n in DESIGN_METRICS} == DESIGN_METRICS


def test_cloud_dashboard_has_the_originals_ten_cloud_run_widgets() -> None:
    run_widgets = [w for w in cloud_widgets() if "timeSeriesFilter" in datasets(w)[0]]
    titles = [w["title"].split(" (")[0] for w in run_widgets]
    assert titles == [
        "Request rate",
        "5xx rate",
        "Latency p50",
        "Latency p95",
        "Latency p99",
        "429 Too Many Requests",
        "Instances",
        "Memory utilisation",
        "CPU utilisation",
        "Response codes",
    ]


def test_cloud_dashboard_metric_types_exist(exported) -> None:
    for widget in cloud_widgets():
        for query in datasets(widget):
            if "prometheusQuery" in query:
                assert promql_names(query["prometheusQuery"], exported) <= set(exported), widget[
                    "title"
                ]
                continue
            flt = query["timeSeriesFilter"]["filter"]
            assert re.findall(r'metric\.type="([^"]+)"', flt)[0] in CLOUD_RUN_METRICS
            assert 'one_of("ion-gateway","ion-api","ion-api-canary")' in flt, "only our services"


def test_cloud_dashboard_tiles_do_not_overlap() -> None:
    cells = set()
    for tile in load("cloud_dashboard.json")["mosaicLayout"]["tiles"]:
        area = {
            (x, y)
            for x in range(tile["xPos"], tile["xPos"] + tile["width"])
            for y in range(tile["yPos"], tile["yPos"] + tile["height"])
        }
        assert not cells & area
        assert tile["xPos"] + tile["width"] <= 48
        cells |= area


def alert(name: str) -> tuple[dict, str]:
    body = load(f"alerts/{name}.json")
    return body, body["conditions"][0]["conditionPrometheusQueryLanguage"]["query"]


@pytest.mark.parametrize(
    ("name", "threshold_field", "window_field", "scale", "comparison"),
    [
        ("canary_error_rate", "breach_error_rate", "error_window_seconds", 1, ">"),
        ("canary_p95_latency", "breach_p95_ms", "p95_window_seconds", 1000, ">"),
        ("canary_success_rate", "breach_success_rate", "success_window_seconds", 1, "<"),
    ],
)
def test_alerts_mirror_the_rollback_thresholds(
    name, threshold_field, window_field, scale, comparison
) -> None:
    defaults = RolloutSettings()
    body, query = alert(name)
    op, value = re.search(r"([<>])\s*([\d.]+)\s*$", query).groups()
    window = int(re.search(r"\[(\d+)m\]", query).group(1)) * 60
    assert (op, float(value) * scale) == (comparison, getattr(defaults, threshold_field))
    assert window == getattr(defaults, window_field)
    assert 'target="canary"' in query
    assert "ion-deploy rollback-canary" in body["documentation"]["content"]


def test_alert_queries_read_exported_metrics(exported) -> None:
    for path in sorted((MONITORING / "alerts").glob("*.json")):
        _, query = alert(path.stem)
        names = promql_names(query, exported)
        assert names and names <= set(exported), path.name


def test_grafana_panels_read_exported_metrics_and_cover_the_design(exported) -> None:
    dashboard = load("grafana_gateway.json")
    seen: set[str] = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = promql_names(target["expr"], exported)
            assert names <= set(exported), (panel["title"], names - set(exported))
            seen |= names
    assert set(DESIGN_METRICS) <= seen, set(DESIGN_METRICS) - seen
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_run_monitoring_config_scrapes_the_gateway_metrics_port() -> None:
    """The optional sidecar config (a Secret Manager secret) points at what the gateway serves."""
    config = yaml.safe_load((MONITORING / "run_monitoring.yaml").read_text())
    assert (config["apiVersion"], config["kind"]) == (
        "monitoring.googleapis.com/v1beta",
        "RunMonitoring",
    )
    [endpoint] = config["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"]) == (str(CONTAINER_PORT), "/metrics")
    assert set(config["spec"]["targetLabels"]["metadata"]) <= {
        "instance",
        "revision",
        "service",
        "configuration",
    }
