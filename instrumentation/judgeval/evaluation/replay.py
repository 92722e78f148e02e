"""One replay: stored interactions, optionally a fixed agent re-run on them, scored again on the evaluator.

:func:`evaluate_dataset` is what ``judgeval eval run`` and a user's test suite call; it returns an
:class:`~judgeval.evaluation.report.EvaluationReport`. Cases that cannot be replayed (a trajectory record,
which keeps no example; an agent that raised) and cases the evaluator could not score are in the report
with the reason; only a replay that cannot run at all raises :class:`EvaluationError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from judgeval.evaluation.agent_rerun import AGENT_ERROR, AgentRerun, load_agent
from judgeval.evaluation.errors import EvaluationError
from judgeval.evaluation.records import read_records
from judgeval.evaluation.remote import (
    CaseToScore,
    EvaluatorEndpoint,
    RunOrigin,
    ScoredCase,
    ScorerSpec,
    score_remotely,
)
from judgeval.evaluation.report import CaseResult, EvaluationReport
from judgeval.evaluation.report_table import format_report
from judgeval.evaluation.stored_dataset import read_dataset
from judgeval.protocol.interaction_record import InteractionRecord

NOT_REPLAYABLE = "not_replayable"
"""The error kind of a record that keeps no example to score (a trajectory or session result)."""


class ReplayProgress(Protocol):
    """Told how far a replay is: a stage starts (``agent``, then ``scoring``), then one step per case."""

    def stage(self, name: str, total: int) -> None: ...

    def advance(self) -> None: ...


def evaluate_dataset(dataset: str | Path | Iterable[InteractionRecord], scorer: str, *,
                     scorer_version: int | None = None, scorer_config: dict[str, Any] | None = None,
                     threshold: float | None = None, agent: Callable[..., Any] | str | None = None,
                     output_field: str | None = None, agent_concurrency: int = 1, limit: int | None = None,
                     api_url: str | None = None, api_key: str | None = None,
                     progress: ReplayProgress | None = None) -> EvaluationReport:
    """Replay ``dataset`` through ``scorer`` on the evaluator at ``api_url`` (default ``$JUDGMENT_API_URL``)
    and compare with the stored production results.

    ``dataset`` is a stored dataset's name (``"NAME"`` or ``"NAME@V"``, a ``str``), a JSON Lines file of
    interaction records (a :class:`~pathlib.Path`), or the records themselves. ``scorer`` is an uploaded
    scorer (at ``scorer_version``, else its latest) or a built-in/YAML scorer, run with ``scorer_config``
    (what a span request's ``scorer.config`` holds, e.g. a built-in's options; by default the options the
    records of that scorer were scored with in production, when they agree) and each record's threshold
    unless ``threshold`` replaces it. With ``agent`` (a function, or ``"module:function"``) the agent is
    re-run on each example first (``agent_concurrency`` calls at a time) and its new output is scored. At
    most ``limit`` records are replayed."""
    endpoint = EvaluatorEndpoint.resolve(api_url, api_key)
    if limit is not None and limit < 1:
        raise EvaluationError(f"limit must be at least 1, got {limit}", bad_input=True)
    if agent_concurrency < 1:
        raise EvaluationError(f"agent_concurrency must be at least 1, got {agent_concurrency}",
                              bad_input=True)
    records, source, origin = _records(endpoint, dataset, limit)
    chosen, duplicates = _chosen(records, limit)
    if not chosen:
        raise EvaluationError("no interaction records to replay" + (f" in {source}" if source else ""),
                              bad_input=True)
    function = load_agent(agent) if isinstance(agent, str) else agent
    examples, failures = _examples(chosen, function, output_field, agent_concurrency, progress)
    to_score = [CaseToScore(r.id, examples[r.id], r.threshold if threshold is None else threshold,
                            r.passed) for r in chosen if r.id in examples]
    if scorer_config is None:
        scorer_config = production_config(chosen, scorer)
    spec = ScorerSpec(scorer, scorer_version, dict(scorer_config))
    answers, version, kind = _scored(endpoint, spec, to_score, progress, origin)
    cases = [_case(r, examples.get(r.id, r.example), answers.get(r.id), failures.get(r.id)) for r in chosen]
    agent_name = agent if isinstance(agent, str) else _qualified(function)
    return EvaluationReport(scorer, version, kind, cases, agent=agent_name, source=source,
                            duplicates=duplicates)


def production_config(records: Sequence[InteractionRecord], scorer: str) -> dict[str, Any]:
    """The scorer options ``scorer``'s records were scored with in production (``{}`` when they carry none);
    :class:`EvaluationError` when they disagree, since one replay runs one configuration."""
    seen = {json.dumps(r.scorer_config, sort_keys=True): r.scorer_config
            for r in records if r.scorer == scorer and r.scorer_config}
    if len(seen) > 1:
        raise EvaluationError(f"the records of {scorer!r} were scored with {len(seen)} different scorer "
                              "options; choose one with scorer_config= (--scorer-config JSON)",
                              bad_input=True)
    return dict(next(iter(seen.values()), {}))


def _scored(endpoint: EvaluatorEndpoint, spec: ScorerSpec, to_score: list[CaseToScore],
            progress: ReplayProgress | None, origin: RunOrigin) -> tuple[dict[str, ScoredCase], int, str]:
    """(answers by case id, the version that ran, the scorer's source)."""
    if progress is not None:
        progress.stage("scoring", len(to_score))
    if not to_score:  # every case failed before scoring: nothing to send, still a report listing why
        return {}, spec.version or 0, ""
    run = score_remotely(endpoint, spec, to_score, progress.advance if progress is not None else lambda: None,
                         origin)
    return run.results, run.scorer_version, run.scorer_source


def _records(endpoint: EvaluatorEndpoint, dataset: str | Path | Iterable[InteractionRecord],
             limit: int | None) -> tuple[list[InteractionRecord], str, RunOrigin]:
    """The records to replay and where they came from (for the report, and for the evaluator's record)."""
    if isinstance(dataset, str):
        try:
            stored = read_dataset(endpoint, dataset, limit)
        except EvaluationError as exc:
            if Path(dataset).is_file():  # a records file given as a str
                raise EvaluationError(f"{exc} (for the records file {dataset!r}, pass Path({dataset!r}))",
                                      bad_input=True) from None
            raise
        return stored.records, str(stored), RunOrigin(stored.name, stored.version)
    if isinstance(dataset, Path):
        return read_records(dataset), str(dataset), RunOrigin()
    return list(dataset), "", RunOrigin()


def assert_pass_rate(report: EvaluationReport, min_pass_rate: float) -> None:
    """Fail (``AssertionError`` with the readable report: changed cases, errors) when the replay's pass
    rate is below ``min_pass_rate`` or no case could be scored."""
    if report.below(min_pass_rate):
        raise AssertionError(f"pass rate below {min_pass_rate:.1%}\n" + format_report(report, min_pass_rate))


def _chosen(records: list[InteractionRecord], limit: int | None) -> tuple[list[InteractionRecord], int]:
    """The first ``limit`` records, each id once (the same span and scorer stored twice is one case), and
    how many repeats were left out (the report counts them)."""
    unique: dict[str, InteractionRecord] = {}
    duplicates = 0
    for record in records:
        if limit is not None and len(unique) >= limit:
            break
        if record.id in unique:
            duplicates += 1
        else:
            unique[record.id] = record
    return list(unique.values()), duplicates


def _examples(records: list[InteractionRecord], agent: Callable[..., Any] | None, output_field: str | None,
              agent_concurrency: int, progress: ReplayProgress | None
              ) -> tuple[dict[str, dict[str, Any]], dict[str, ScoredCase]]:
    """(the example to score per record id, the reason per record id that has none)."""
    examples: dict[str, dict[str, Any]] = {}
    failures: dict[str, ScoredCase] = {}
    for record in records:
        if record.scope != "span" or not record.example:
            failures[record.id] = ScoredCase(None, None, f"a {record.scope} record keeps no example to "
                                             "replay (only span results are replayable)", NOT_REPLAYABLE)
        else:
            examples[record.id] = record.example
    if agent is None:
        return examples, failures
    rerun = AgentRerun(agent, output_field)
    if progress is not None:
        progress.stage("agent", len(examples))
    try:
        examples, raised = rerun.new_examples(examples, agent_concurrency,
                                              progress.advance if progress is not None else lambda: None)
    finally:
        rerun.close()
    failures.update({key: ScoredCase(None, None, reason, AGENT_ERROR) for key, reason in raised.items()})
    return examples, failures


def _case(record: InteractionRecord, example: dict[str, Any], answer: ScoredCase | None,
          failure: ScoredCase | None) -> CaseResult:
    outcome = failure or answer or ScoredCase(None, None, "the evaluator returned no result for this case",
                                              "no_result")
    return CaseResult(id=record.id, trace_id=record.trace_id, span_id=record.span_id,
                      behavior_id=record.behavior_id, example=example, baseline_score=record.score,
                      baseline_passed=record.passed, score=outcome.score, passed=outcome.passed,
                      reason=outcome.reason, error_kind=outcome.error_kind)


def _qualified(function: Callable[..., Any] | None) -> str | None:
    if function is None:
        return None
    module = getattr(function, "__module__", "") or ""
    name = getattr(function, "__qualname__", None) or repr(function)
    return f"{module}:{name}" if module else name
