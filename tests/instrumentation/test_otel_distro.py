"""judgeval next to ``opentelemetry-distro`` (the usual getting-started path), in a fresh venv, exporting to
the real collector (``otelcol-jaeger.yaml``): content is captured and nothing fails, whichever distro and
configurator run, or one ``judgeval:`` line says what to set.

The venv holds only ``opentelemetry-distro`` (the version matching our ``opentelemetry-instrumentation``,
from PyPI or pip's cache) and sees this venv's packages through a ``.pth`` file placed after its own
site-packages, so ``opentelemetry-distro``'s distro and configurator are found first: the case where
judgeval's defaults used to be dropped silently.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from judgeval import semconv
from judgeval.testing import OtlpTraceReceiver, ReceivedSpan, RecordedOpenAIServer

from evaluator_service.localstack.stack import CollectorInstance

from .zero_code import APPS, PACKAGE_QUESTION

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("opentelemetry.instrumentation.genai.openai") is None,
    reason="needs opentelemetry-instrumentation-genai-openai (the dev extra)",
)

RUN_INSTRUMENT = "from opentelemetry.instrumentation.auto_instrumentation import run; run()"


@pytest.fixture(scope="module")
def distro_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a fresh venv with ``opentelemetry-distro`` installed (and found first)."""
    venv = tmp_path_factory.mktemp("with-opentelemetry-distro")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip())
    version = importlib.metadata.version("opentelemetry-instrumentation")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
         f"opentelemetry-distro=={version}"],
        check=True, timeout=300,
    )
    ours = sysconfig.get_paths()["purelib"]
    (site / "zz_judgeval_dev.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    first = subprocess.run(
        [str(python), "-c", "from importlib.metadata import entry_points; "
                            "print([e.name for e in entry_points(group='opentelemetry_distro')])"],
        capture_output=True, text=True, check=True, cwd=venv,
    ).stdout.strip()
    assert first == "['distro', 'judgeval']", first  # the case under test: theirs is found first
    return python


def run_app(
    python: Path, llm: RecordedOpenAIServer, endpoint: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """``opentelemetry-instrument python apps/plain_openai_app.py`` with the venv's Python (run outside the
    repository, whose ``*.egg-info`` would otherwise be found first)."""
    app_env = {
        "PATH": f"{python.parent}:/usr/bin:/bin",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{endpoint}",
        "OTEL_SERVICE_NAME": "distro-app",
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": "test",
        **env,
    }
    done = subprocess.run(
        [str(python), "-c", RUN_INSTRUMENT, str(python), str(APPS / "plain_openai_app.py")],
        env=app_env, capture_output=True, text=True, timeout=120, check=False, cwd=python.parent,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["It ships tomorrow", "It ships tomorrow"]
    return done


def judgeval_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("judgeval:")]


def chat_spans(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return [s for s in spans if s.attributes.get(semconv.GEN_AI_OPERATION_NAME) == "chat"]


def assert_content_captured(receiver: OtlpTraceReceiver) -> None:
    """Both chat calls arrive (at the collector's evaluator route: they are rule candidates) with the
    question on the span, as rules need it."""
    spans = chat_spans(receiver.wait_for(lambda spans: len(chat_spans(spans)) == 2, timeout=60))
    for span in spans:
        messages = json.loads(span.attributes[semconv.GEN_AI_INPUT_MESSAGES])
        assert messages[0]["parts"][0]["content"] == PACKAGE_QUESTION


@pytest.mark.parametrize(
    ("selection", "expected_line"),
    [
        ({}, "set OTEL_PYTHON_DISTRO=judgeval for judgeval's defaults"),  # theirs, found first
        ({"OTEL_PYTHON_DISTRO": "distro"}, None),  # theirs, chosen on purpose
        ({"OTEL_PYTHON_DISTRO": "judgeval"}, None),
        ({"OTEL_PYTHON_DISTRO": "judgeval", "OTEL_PYTHON_CONFIGURATOR": "configurator"}, None),
        ({"OTEL_PYTHON_DISTRO": "distro", "OTEL_PYTHON_CONFIGURATOR": "judgeval"}, None),
    ],
    ids=["found-first", "distro-chosen", "judgeval-chosen", "their-configurator", "our-configurator"],
)
def test_common_combinations_capture_content_and_export_without_errors(
    distro_python: Path,
    llm: RecordedOpenAIServer,
    collector: CollectorInstance,
    evaluator_receiver: OtlpTraceReceiver,
    selection: dict[str, str],
    expected_line: str | None,
) -> None:
    done = run_app(distro_python, llm, collector.grpc_endpoint, **selection)

    assert_content_captured(evaluator_receiver)
    # opentelemetry-distro's OTLP metrics and logs are accepted by the shipped collector: no export error.
    assert "UNIMPLEMENTED" not in done.stderr
    assert "Failed to export" not in done.stderr
    lines = judgeval_lines(done.stderr)
    assert lines == ([] if expected_line is None else [lines[0]]), done.stderr
    if expected_line:
        assert "'distro' distro was found before judgeval's" in lines[0]
        assert lines[0].endswith(expected_line)


@pytest.mark.parametrize(
    ("selection", "expected_end"),
    [
        ({"OTEL_PYTHON_DISTRO": "judgevall"}, "defaults were applied; set OTEL_PYTHON_DISTRO=judgeval"),
        ({"OTEL_PYTHON_CONFIGURATOR": "nope"}, "itself; set OTEL_PYTHON_CONFIGURATOR=judgeval"),
    ],
    ids=["unknown-distro", "unknown-configurator"],
)
def test_a_selection_that_exports_nothing_says_so_in_one_line(
    distro_python: Path, llm: RecordedOpenAIServer, selection: dict[str, str], expected_end: str
) -> None:
    with OtlpTraceReceiver() as receiver:
        done = run_app(distro_python, llm, receiver.endpoint, **selection)
    (line,) = judgeval_lines(done.stderr)
    assert line.endswith(expected_end), line
    assert f"={next(iter(selection.values()))} matches none of the installed" in line
