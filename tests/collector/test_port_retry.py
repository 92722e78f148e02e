"""Ports of the local stack: a wanted port is used when free, and a port picked as free can be taken
before the binary binds it (the start is then retried on new ports)."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path

import pytest

from tools.localstack.binaries import OtelBinaries
from tools.localstack.procs import (
    OTELCOL_JAEGER_CONFIG,
    ProcessFailed,
    endpoint_port,
    endpoint_preferring,
    free_port,
    port_is_free,
    run_binary_on_free_ports,
)
from tools.localstack.stack import collector_env, start_collector


def _health_url(env: Mapping[str, str]) -> str:
    return f"http://{env['JUDGEVAL_COLLECTOR_HEALTH_ENDPOINT']}/"


def test_a_wanted_port_is_used_when_free_and_replaced_when_taken() -> None:
    wanted = free_port()  # stands for 4317: free a moment ago, so almost surely still free
    assert port_is_free(wanted)
    assert endpoint_preferring(wanted) == f"127.0.0.1:{wanted}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", wanted))
        taken.listen()
        assert not port_is_free(wanted)
        other = endpoint_preferring(wanted)
    assert other.startswith("127.0.0.1:") and endpoint_port(other) != wanted
    assert endpoint_port(endpoint_preferring(None)) > 0


def test_the_collector_takes_the_wanted_otlp_ports(otel_binaries: OtelBinaries, tmp_path: Path):
    grpc_port, http_port = free_port(), free_port()
    with start_collector(otel_binaries.otelcol, tmp_path, "127.0.0.1:1", "127.0.0.1:1",
                         grpc_port=grpc_port, http_port=http_port) as collector:
        assert collector.grpc_endpoint == f"127.0.0.1:{grpc_port}"
        assert collector.http_endpoint == f"127.0.0.1:{http_port}"


def test_a_taken_port_is_replaced_and_the_collector_starts(otel_binaries: OtelBinaries, tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        taken_endpoint = f"127.0.0.1:{taken.getsockname()[1]}"
        attempts: list[str] = []

        def make_env() -> dict[str, str]:
            env = collector_env(tmp_path, "127.0.0.1:1", "127.0.0.1:1")
            if not attempts:  # the first pick lost the race for its gRPC port
                env["JUDGEVAL_COLLECTOR_GRPC_ENDPOINT"] = taken_endpoint
            attempts.append(env["JUDGEVAL_COLLECTOR_GRPC_ENDPOINT"])
            return env

        argv = [str(otel_binaries.otelcol), f"--config={OTELCOL_JAEGER_CONFIG}"]
        log = tmp_path / "otelcol.log"
        with run_binary_on_free_ports("otelcol", argv, make_env, log, _health_url) as (env, _):
            assert env["JUDGEVAL_COLLECTOR_GRPC_ENDPOINT"] != taken_endpoint
    assert len(attempts) == 2
    assert "address already in use" in log.read_text()


def test_other_start_failures_are_not_retried(otel_binaries: OtelBinaries, tmp_path: Path):
    attempts: list[int] = []

    def make_env() -> dict[str, str]:
        attempts.append(1)
        return collector_env(tmp_path, "127.0.0.1:1", "127.0.0.1:1")

    argv = [str(otel_binaries.otelcol), f"--config={tmp_path / 'missing.yaml'}"]
    with pytest.raises(ProcessFailed), run_binary_on_free_ports(
        "otelcol", argv, make_env, tmp_path / "otelcol.log", _health_url
    ):
        pass
    assert attempts == [1]
