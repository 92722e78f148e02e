"""Every config in collector-config/ is accepted by the real binary that runs it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evaluator_service import environment_variables
from tools.localstack.binaries import OtelBinaries
from tools.localstack.procs import COLLECTOR_CONFIG_DIR, JAEGER_LOCAL_CONFIG, validate_config
from tools.localstack.stack import collector_env, jaeger_env

COLLECTOR_CONFIGS = sorted(COLLECTOR_CONFIG_DIR.glob("otelcol-*.yaml"))


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_collector_config_validates(otel_binaries: OtelBinaries, tmp_path: Path, path: Path) -> None:
    env = collector_env(
        tmp_path,
        evaluator_endpoint="127.0.0.1:4319",
        backend_endpoint="127.0.0.1:4317",
        JUDGEVAL_EVALUATOR_ENDPOINTS="[127.0.0.1:4319, 127.0.0.1:4320]",
    )
    result = validate_config(otel_binaries.otelcol, path, env)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_collector_config_validates_with_defaults_only(
    otel_binaries: OtelBinaries, path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every ${env:...} has a default, so the file alone is a working starting point.
    for name in [n for n in os.environ if n.startswith("JUDGEVAL_")]:
        monkeypatch.delenv(name)
    result = validate_config(otel_binaries.otelcol, path, {})
    assert result.returncode == 0, result.stderr


def test_validation_rejects_an_unknown_component(otel_binaries: OtelBinaries, tmp_path: Path) -> None:
    # Proves the validate step checks something: a typo in a processor name must fail.
    broken = tmp_path / "broken.yaml"
    original = (COLLECTOR_CONFIG_DIR / "otelcol-jaeger.yaml").read_text()
    broken.write_text(original.replace("filter/to_evaluator:", "filtr/to_evaluator:", 1))
    result = validate_config(otel_binaries.otelcol, broken, {"JUDGEVAL_COLLECTOR_STORAGE_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "filtr" in result.stderr


def test_jaeger_local_config_validates(otel_binaries: OtelBinaries) -> None:
    result = validate_config(otel_binaries.jaeger, JAEGER_LOCAL_CONFIG, jaeger_env())
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", COLLECTOR_CONFIGS, ids=lambda p: p.name)
def test_remote_write_is_switched_on_by_environment(
    otel_binaries: OtelBinaries, tmp_path: Path, path: Path
) -> None:
    env = collector_env(
        tmp_path, evaluator_endpoint="127.0.0.1:4319", backend_endpoint="127.0.0.1:4317",
        JUDGEVAL_EVALUATOR_ENDPOINTS="[127.0.0.1:4319]",
        **{environment_variables.JUDGEVAL_METRICS_EXPORTERS: "[prometheus, prometheus_remote_write]",
           environment_variables.JUDGEVAL_PROMETHEUS_REMOTE_WRITE_URL: "http://127.0.0.1:9/api/v1/write"},
    )
    assert validate_config(otel_binaries.otelcol, path, env).returncode == 0
    # The variable really selects the exporters: a name no exporter has is refused.
    env[environment_variables.JUDGEVAL_METRICS_EXPORTERS] = "[prometheus, prometheus_remote]"
    refused = validate_config(otel_binaries.otelcol, path, env)
    assert refused.returncode != 0
    assert 'references exporter "prometheus_remote" which is not configured' in refused.stderr
