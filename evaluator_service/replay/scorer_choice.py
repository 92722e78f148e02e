"""Which scorer a replay runs: the one production would run for the same name, decided once, up front.

Production resolves a span request's scorer through the evaluator's :class:`ScorerChain` (YAML scorers,
built-ins, uploaded scorers). A replay resolves through the same chain, but answers "no such scorer" before
any case is scored instead of failing every case one by one: the uploaded source's ``recheck_unknown``
stand-in (right for live spans racing an upload on another replica) is bypassed by reading the registry
after a refresh. The chosen uploaded version is pinned, so a version uploaded mid-run does not mix in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from judgeval.protocol.evaluation_request import ScorerRef
from judgeval.scorers.source_check import EXAMPLE_KIND

from evaluator_service.errors import EvaluatorError
from evaluator_service.sandbox.uploaded_source import UploadedScorer, UploadedScorerSource
from evaluator_service.scoring.contract import Scorer
from evaluator_service.scoring.kind_mixup import MisdirectedScorer
from evaluator_service.scoring.resolution import ScorerChain

UPLOADED = "uploaded"
BUILTIN = "builtin"


class ReplayRefused(EvaluatorError):
    """The replay cannot start; ``reason`` is ``not_found`` or ``precondition``, the message says why."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ReplayScorer:
    """The scorer a replay runs and the reference every case's request carries (version pinned)."""

    ref: ScorerRef
    source: str
    """:data:`UPLOADED` (sandboxed) or :data:`BUILTIN` (built-in types and YAML entries)."""

    @property
    def version(self) -> int:
        return self.ref.version or 0


async def choose_scorer(chain: ScorerChain, name: str, version: int | None,
                        config: dict[str, Any] | None = None) -> ReplayScorer:
    """Resolve ``name`` (``version``: an uploaded version, ``None`` the latest) as production would, to run
    with ``config`` (a span request's ``scorer.config``); :class:`ReplayRefused` when it does not exist, is a
    trajectory scorer, or a version names a built-in."""
    config = config or {}
    ref = ScorerRef(name=name, version=version)
    for source in chain.sources:
        if isinstance(source, UploadedScorerSource):
            await source.registry.refresh()  # answer from the shared registry as it is now
            found = source.resolve_stored(ref)
            if found is None:
                continue
            if not isinstance(found, UploadedScorer):  # the name exists, the pinned version does not
                latest = source.registry.versions(name)[-1].version
                raise ReplayRefused(f"scorer {name!r} has no version {version} (latest is {latest})",
                                    "not_found")
            _refuse_trajectory_scorer(found)
            return ReplayScorer(ScorerRef(name=name, version=found.stored.version, config=config), UPLOADED)
        scorer = source.resolve(ref)
        if scorer is not None:
            _refuse_trajectory_scorer(scorer)
            if version is not None:
                raise ReplayRefused(f"scorer {name!r} is a built-in or configured scorer: it has no "
                                    f"versions (drop @{version})", "precondition")
            return ReplayScorer(ScorerRef(name=name, config=config), BUILTIN)
    raise ReplayRefused(f"no scorer named {name!r} on this evaluator (`judgeval scorers list` shows the "
                        "uploaded ones)", "not_found")


def _refuse_trajectory_scorer(scorer: Scorer) -> None:
    if isinstance(scorer, MisdirectedScorer):
        raise ReplayRefused(f"{scorer.message}; replaying trajectories is not supported: replay a span "
                            "scorer", "precondition")
    if isinstance(scorer, UploadedScorer) and scorer.stored.kind != EXAMPLE_KIND:
        raise ReplayRefused(f"scorer {scorer.name!r} v{scorer.stored.version} is an uploaded TraceScorer: "
                            "replaying trajectories is not supported, replay a span scorer", "precondition")
