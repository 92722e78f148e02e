"""Jinja filters of the console: times, rates, durations, and the inline SVG trend sparkline."""

from __future__ import annotations

import time
from collections.abc import Sequence

from markupsafe import Markup, escape


def when(at: float | None) -> str:
    """A UTC timestamp, ``2026-12-04 21:40:05Z``; an em dash for none."""
    if not at:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(at))


def iso(at: float) -> str:
    """An ISO 8601 UTC time, what Plotly's date axes read."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def sparkline(values: Sequence[int], label: str) -> Markup:
    """A small SVG polyline of ``values`` (oldest first) with ``label`` as its accessible name."""
    width, height = 96, 24
    if not values:
        values = [0]
    top = max(values) or 1
    step = width / max(1, len(values) - 1)
    points = " ".join(f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}"
                      for i, v in enumerate(values))
    return Markup(
        f'<svg class="spark" role="img" aria-label="{escape(label)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><title>{escape(label)}</title>'
        f'<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{points}"/></svg>')


FILTERS = {"when": when, "percent": percent, "number": number, "sparkline": sparkline}
