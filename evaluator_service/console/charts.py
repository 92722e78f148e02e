"""Plotly figure specs (``{"data": ..., "layout": ..., "links": ...}``) built from the read API's views,
with a one-line text summary each for screen readers. ``static/console.js`` draws them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from evaluator_service.console.formatting import iso, percent
from evaluator_service.console.views import HISTOGRAM_LABELS, NotEvaluatedSummary, ScoreSeries, SeriesPoint

Spec = dict[str, Any]


def pass_rate_chart(series: list[ScoreSeries], link_key: str) -> tuple[Spec, str]:
    """Pass rate over time, one line per scorer (or agent); a click opens its failing interactions."""
    data = [{"type": "scatter", "mode": "lines+markers", "name": s.name or "(no agent)", "connectgaps": False,
             "x": [iso(p.at) for p in s.points],
             "y": [p.stats.pass_rate for p in s.points]} for s in series]
    links = [f"/failing?{urlencode({link_key: s.name})}" for s in series]
    layout = {"xaxis": {"type": "date"},
              "yaxis": {"title": {"text": "pass rate"}, "range": [0, 1.05], "tickformat": ".0%"}}
    summary = "; ".join(f"{s.name or '(no agent)'}: {percent(s.total.pass_rate)} over the range"
                        for s in series) or "no scores in the range"
    return {"data": data, "layout": layout, "links": links}, summary


def volume_chart(points: list[SeriesPoint]) -> tuple[Spec, str]:
    """Results per slot, stacked: passes, failures, scoring errors (apart from failures)."""
    x = [iso(p.at) for p in points]
    data = [{"type": "bar", "name": name, "x": x, "y": [getattr(p.stats, field) for p in points],
             "marker": {"color": color}}
            for name, field, color in (("passes", "passes", "#1e7b34"), ("failures", "failures", "#b3261e"),
                                       ("scoring errors", "errors", "#9a5b00"))]
    total = sum(p.stats.volume for p in points)
    failures = sum(p.stats.failures for p in points)
    errors = sum(p.stats.errors for p in points)
    return ({"data": data, "layout": {"barmode": "stack", "xaxis": {"type": "date"},
                                      "yaxis": {"title": {"text": "results"}}},
             "links": [None, "/failing?outcome=failed", "/failing?outcome=error"]},
            f"{total} results: {failures} failures, {errors} scoring errors")


def distribution_chart(series: list[ScoreSeries]) -> tuple[Spec, str]:
    """Score distribution over the range, one bar group per scorer."""
    data = [{"type": "bar", "name": s.name, "x": list(HISTOGRAM_LABELS), "y": list(s.total.histogram)}
            for s in series]
    summary = "; ".join(f"{s.name}: " + ", ".join(f"{label} {count}" for label, count
                                                  in zip(HISTOGRAM_LABELS, s.total.histogram, strict=True)
                                                  if count)
                        for s in series) or "no scores in the range"
    layout = {"barmode": "group", "xaxis": {"title": {"text": "score"}, "automargin": True},
              "yaxis": {"title": {"text": "results"}}}
    return {"data": data, "layout": layout}, summary


def not_evaluated_chart(summary: NotEvaluatedSummary) -> tuple[Spec, str]:
    """Spans that got no score per slot, stacked by reason."""
    data = [{"type": "bar", "name": s.reason, "x": [iso(at) for at, _ in s.points],
             "y": [n for _, n in s.points]} for s in summary.series]
    links = [f"/not-evaluated?{urlencode({'reason': s.reason})}" for s in summary.series]
    text = "; ".join(f"{s.reason}: {sum(n for _, n in s.points)}" for s in summary.series)
    return ({"data": data, "layout": {"barmode": "stack", "xaxis": {"type": "date"},
                                      "yaxis": {"title": {"text": "spans"}}}, "links": links},
            text or "every span that asked for a score got one")
