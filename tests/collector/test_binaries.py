"""scripts/otel-binaries and the binaries it builds."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from evaluator_service.localstack.procs import (
    COLLECTOR_CONFIG_DIR,
    GO_MISSING_EXIT_CODE,
    OTEL_BINARIES_SCRIPT,
    OtelBinaries,
)

COMPONENT_KINDS = ("extensions", "receivers", "processors", "exporters", "connectors")


def run_script(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OTEL_BINARIES_SCRIPT)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )


def test_missing_go_is_exit_3_with_an_actionable_message() -> None:
    result = run_script(GO="/nonexistent/bin/go")
    assert result.returncode == GO_MISSING_EXIT_CODE
    assert result.stderr.startswith("go not found: install Go >= 1.")
    assert "OTELCOL=" not in result.stdout


def test_second_run_reuses_the_cache_and_prints_the_same_paths(otel_binaries: OtelBinaries) -> None:
    if os.environ.get("OTELCOL") and os.environ.get("JAEGER"):
        pytest.skip("binaries given by OTELCOL/JAEGER; the script's cache is not in use in this run")
    first, second = run_script(), run_script()
    assert first.returncode == second.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert first.stdout.splitlines()[-2:] == [
        f"OTELCOL={otel_binaries.otelcol}",
        f"JAEGER={otel_binaries.jaeger}",
    ]
    assert "cached at" in second.stderr
    cache_root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    assert otel_binaries.otelcol.parent == cache_root / "judgeval-otel" / "bin"


def test_binaries_report_their_versions(otel_binaries: OtelBinaries) -> None:
    otelcol = subprocess.run([otel_binaries.otelcol, "--version"], capture_output=True, text=True, check=True)
    jaeger = subprocess.run([otel_binaries.jaeger, "version"], capture_output=True, text=True, check=True)
    assert otelcol.stdout.startswith("otelcol-judgeval version 0.161.0")
    assert "gitVersion" in jaeger.stdout


def component_types_used(config_path: Path) -> dict[str, set[str]]:
    """Component types (the part before ``/``) each config declares, by kind."""
    config = yaml.safe_load(config_path.read_text())
    return {kind: {name.split("/")[0] for name in config.get(kind) or {}} for kind in COMPONENT_KINDS}


def test_distribution_has_exactly_the_components_the_configs_use(otel_binaries: OtelBinaries) -> None:
    listing = subprocess.run(
        [otel_binaries.otelcol, "components"], capture_output=True, text=True, check=True
    )
    available = yaml.safe_load(listing.stdout)
    built = {kind: {c["name"] for c in available.get(kind) or []} for kind in COMPONENT_KINDS}
    used: dict[str, set[str]] = {kind: set() for kind in COMPONENT_KINDS}
    for path in COLLECTOR_CONFIG_DIR.glob("otelcol-*.yaml"):
        for kind, types in component_types_used(path).items():
            used[kind] |= types
    # `otlp` is the deprecated alias the otlp_grpc exporter registers.
    built["exporters"] -= {"otlp"}
    assert used == built
