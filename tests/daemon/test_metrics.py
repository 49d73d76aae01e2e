"""The metrics convention: a registry per program and the pyantrea_ prefix."""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from pyantrea_daemon.metrics import Metrics


def families(metrics: Metrics) -> dict[str, str]:
    return {
        family.name: family.type for family in text_string_to_metric_families(metrics.exposition().decode())
    }


def test_names_carry_the_prefix_and_the_program() -> None:
    metrics = Metrics("controller")
    metrics.counter("events_sent", "Watch events sent to agents.", labels=["kind"]).labels(
        kind="AddressGroup"
    ).inc()
    metrics.gauge("watchers", "Connected agent watches.").set(3)
    metrics.histogram("compute_seconds", "Policy computation latency.").observe(0.2)
    found = families(metrics)
    assert found["pyantrea_controller_events_sent"] == "counter"
    assert found["pyantrea_controller_watchers"] == "gauge"
    assert found["pyantrea_controller_compute_seconds"] == "histogram"
    assert found["process_cpu_seconds"] == "counter"
    assert found["python_info"] == "gauge"


def test_programs_in_one_process_keep_their_metrics_apart() -> None:
    agent, other_agent = Metrics("agent"), Metrics("agent")
    agent.counter("restarts", "Restarts.").inc()
    other_agent.counter("restarts", "Restarts.")
    assert b"pyantrea_agent_restarts_total 1.0" in agent.exposition()
    assert b"pyantrea_agent_restarts_total 0.0" in other_agent.exposition()
    assert REGISTRY.get_sample_value("pyantrea_agent_restarts_total") is None
