"""The payload examples of ``evaluator_service/README.md`` (section Notification channels), read from the
README itself, and a field-by-field comparison with what a channel really sent.

Each example is a fenced block right after a ``<!-- payload: NAME -->`` marker; the README is the one place
the documented bodies live, so a change to a channel's payload fails the test until the README says it too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

README = Path(__file__).parents[2] / "evaluator_service" / "README.md"
_BLOCK = re.compile(r"<!-- payload: (?P<name>[\w-]+) -->\n```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)

EVENT_ID = re.compile(r"[0-9a-f]{32}")
"""An ``event_id`` as :func:`~evaluator_service.state.alert_rows.notification_id` makes them."""
EPISODE_KEY = re.compile(r"(?P<alert>[\w.-]+):[0-9a-f]{16}")
"""A score alert's ``dedup_key``: the alert's name and the episode's random part."""


def documented_blocks() -> dict[str, str]:
    """Marker name → the fenced block's text; a name used twice is an error."""
    blocks: dict[str, str] = {}
    for match in _BLOCK.finditer(README.read_text()):
        name = match["name"]
        assert name not in blocks, f"README: payload example {name!r} appears twice"
        blocks[name] = match["body"]
    return blocks


def documented_json(name: str) -> Any:
    return json.loads(documented_blocks()[name])


def differences(documented: Any, sent: Any, path: str = "$") -> list[str]:
    """Every field where ``sent`` differs from ``documented``: missing or extra keys, another type, another
    value, another list length (each as ``path: ...``)."""
    if isinstance(documented, dict) and isinstance(sent, dict):
        found = [f"{path}.{k}: documented, not sent" for k in documented if k not in sent]
        found += [f"{path}.{k}: sent ({sent[k]!r}), not documented" for k in sent if k not in documented]
        for key in documented.keys() & sent.keys():
            found += differences(documented[key], sent[key], f"{path}.{key}")
        return sorted(found)
    if isinstance(documented, list) and isinstance(sent, list):
        if len(documented) != len(sent):
            return [f"{path}: {len(documented)} items documented, {len(sent)} sent: {sent!r}"]
        return [d for i, (a, b) in enumerate(zip(documented, sent, strict=True))
                for d in differences(a, b, f"{path}[{i}]")]
    if type(documented) is not type(sent):
        return [f"{path}: documented {type(documented).__name__} {documented!r}, "
                f"sent {type(sent).__name__} {sent!r}"]
    if documented != sent:
        return [f"{path}: documented {documented!r}, sent {sent!r}"]
    return []


class IdSubstitution:
    """The random parts of a real notification (event id, episode key) replaced by the README's, once each
    has been checked to have the documented format; every other character must then match exactly."""

    def __init__(self) -> None:
        self.pairs: list[tuple[str, str]] = []

    def add(self, sent: str, documented: str, form: re.Pattern[str]) -> None:
        assert form.fullmatch(sent), f"sent {sent!r} does not have the format {form.pattern}"
        assert form.fullmatch(documented), f"README's {documented!r} does not have the format {form.pattern}"
        self.pairs.append((sent, documented))

    def text(self, text: str, *encodings: Any) -> str:
        for sent, documented in self.pairs:
            for encode in (str, *encodings):
                text = text.replace(encode(sent), encode(documented))
        return text

    def json(self, value: Any, *encodings: Any) -> Any:
        return json.loads(self.text(json.dumps(value), *encodings))
