"""``judgeval-evaluator`` run as a real subprocess, plus a raw-bytes OTLP/gRPC sender to it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
LISTENING = "judgeval-evaluator listening on "
RETRY_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})


def evaluator_command() -> list[str]:
    """The CLI next to this interpreter (the project venv), else ``python -m evaluator_service``."""
    script = Path(sys.executable).with_name("judgeval-evaluator")
    return [str(script)] if script.exists() else [sys.executable, "-m", "evaluator_service"]


class RawSender:
    """Posts pre-serialized ``ExportTraceServiceRequest`` bytes to an OTLP/gRPC endpoint."""

    def __init__(self, endpoint: str) -> None:
        options = [("grpc.max_send_message_length", 64 * 1024 * 1024)]
        self._channel = grpc.insecure_channel(endpoint, options=options)
        self._export = self._channel.unary_unary(
            EXPORT_METHOD, request_serializer=None,
            response_deserializer=ExportTraceServiceResponse.FromString,
        )

    def send(self, payload: bytes) -> None:
        """Export one serialized request; retries while the endpoint answers UNAVAILABLE (queue full)."""
        delay = 0.05
        while True:
            try:
                self._export(payload, timeout=60)
                return
            except grpc.RpcError as exc:
                if exc.code() not in RETRY_CODES:  # type: ignore[attr-defined]
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def send_all(self, payloads: Sequence[bytes], senders: int) -> None:
        """Export all payloads with ``senders`` requests in flight."""
        with ThreadPoolExecutor(max_workers=senders) as pool:
            for future in [pool.submit(self.send, p) for p in payloads]:
                future.result()

    def close(self) -> None:
        self._channel.close()


class EvaluatorProcess:
    """Starts the evaluator on a free port with a temporary data dir and YAML; stops it with SIGTERM."""

    def __init__(self, export_endpoint: str, yaml: str, env: dict[str, str] | None = None,
                 extra_args: Sequence[str] = ()) -> None:
        self._root = Path(tempfile.mkdtemp(prefix="judgeval-bench-"))
        self.data_dir = self._root / "queue"
        config = self._root / "evaluator.yaml"
        config.write_text(yaml)
        argv = [
            *evaluator_command(), "--listen", "127.0.0.1:0", "--export-endpoint", export_endpoint,
            "--data-dir", str(self.data_dir), "--config", str(config), "--log-level", "WARNING",
            "--shutdown-grace", "2", *extra_args,
        ]
        self._stderr = open(self._root / "stderr.log", "w")  # noqa: SIM115  closed in stop()
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env={**os.environ, **(env or {})}
        )
        self.endpoint = self._wait_listening()
        self._sender = RawSender(self.endpoint)
        self.send = self._sender.send
        self.send_all = self._sender.send_all

    @property
    def pid(self) -> int:
        return self.process.pid

    def _wait_listening(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith(LISTENING):
            self.process.kill()
            log = (self._root / "stderr.log").read_text()[-2000:]
            raise RuntimeError(f"evaluator did not start: {line!r} {log}")
        return line[len(LISTENING):].strip()

    def stop(self) -> None:
        self._sender.close()
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stderr.close()
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> EvaluatorProcess:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
