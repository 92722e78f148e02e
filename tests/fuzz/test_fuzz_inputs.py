"""Fuzzed evaluation-request payloads, evaluator YAML configs and scorer uploads: each is either accepted
or refused with the one error type its caller reports (never another exception)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from judgeval.protocol.evaluation_request import InvalidEvaluationRequest, decode_requests

from evaluator_service.config import ConfigError, EvaluatorConfig, load_config
from evaluator_service.registry.validation import InvalidUpload, ValidatedUpload, validate_upload

from .strategies import hostile_payloads, json_values, request_payloads

PAYLOAD_EXAMPLES = 400
CONFIG_EXAMPLES = 300
UPLOAD_EXAMPLES = 200

SECTIONS = ["listen", "export_endpoint", "queue", "scoring", "export", "judge", "scorers", "rules", "limits",
            "behaviors", "alerts", "sandbox", "ingress", "api_key", "state_db", "metrics_endpoint", "bogus"]
SECTION_KEYS = ["max_spans", "max_bytes", "min_free_bytes", "batch_size", "timeout_s", "concurrency", "name",
                "type", "model", "when", "scorer", "threshold", "pattern", "enabled", "workers", "tls",
                "http_listen", "bearer_token", "cert_file", "condition", "channels", "sampling_rate"]

section_values = st.recursive(
    json_values,
    lambda inner: st.dictionaries(st.sampled_from(SECTION_KEYS), inner, max_size=4)
    | st.lists(st.dictionaries(st.sampled_from(SECTION_KEYS), inner, max_size=4), max_size=3),
    max_leaves=12,
)


@settings(max_examples=PAYLOAD_EXAMPLES)
@given(raw=request_payloads() | hostile_payloads() | json_values | st.binary(max_size=50))
def test_request_payloads_decode_or_raise_invalid_evaluation_request(raw: object) -> None:
    try:
        decoded = decode_requests(raw)
    except InvalidEvaluationRequest as exc:
        assert str(exc)
    else:
        assert decoded and isinstance(decoded, list)


@settings(max_examples=CONFIG_EXAMPLES)
@given(doc=st.dictionaries(st.sampled_from(SECTIONS), section_values, max_size=4)
       | json_values | st.text(max_size=100))
def test_yaml_configs_load_or_raise_config_error(tmp_path_factory, doc: object) -> None:
    path = Path(tmp_path_factory.mktemp("cfg")) / "evaluator.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc), encoding="utf-8")
    try:
        config = load_config(config_file=str(path), listen="127.0.0.1:0", environ={})
    except ConfigError as exc:
        assert str(exc)
    else:
        assert isinstance(config, EvaluatorConfig)


SOURCE = '''from judgeval.scorers.example_scorer import ExampleScorer


class {name}(ExampleScorer):
    {body}
'''

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)


@settings(max_examples=UPLOAD_EXAMPLES)
@given(
    name=st.text(max_size=30),
    source=st.text(max_size=300) | st.builds(
        lambda n, b: SOURCE.format(name=n, body=b), identifiers,
        st.sampled_from(["pass", "name = 'x'",
                         "async def a_score_example(self, example):\n        return 1.0",
                         "def __init__(self):\n        import os"])),
    filename=st.text(max_size=30)
    | st.sampled_from(["scorer.py", "../../etc/passwd", "a b.py", ".py", "x.txt"]),
    requirements=st.text(max_size=200) | st.lists(
        st.sampled_from(["requests==2.0", "${SECRET}", "-e .", "--index-url http://x", "foo @ file:///tmp",
                         "numpy>=1", "git+https://x/y", "bad req!!", ""]), max_size=4).map("\n".join),
    class_name=st.just("") | identifiers,
)
def test_uploads_validate_or_raise_invalid_upload(name: str, source: str, filename: str, requirements: str,
                                                  class_name: str) -> None:
    try:
        upload = validate_upload(name=name, source=source, source_filename=filename,
                                 requirements=requirements, class_name=class_name)
    except InvalidUpload as exc:
        assert str(exc)
    else:
        assert isinstance(upload, ValidatedUpload)
        assert "/" not in upload.source_filename and ".." not in upload.source_filename
        assert json.dumps(upload.name)
