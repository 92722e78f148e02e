"""Name → scorer resolution: a chain of :class:`ScorerSource`, first answer wins."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from judgeval.evaluation_request import ScorerRef

from evaluator_service.scoring.contract import Scorer, ScorerSource

logger = logging.getLogger(__name__)


class ScorerChain:
    """Asks each source in order; YAML-configured scorers come first, then built-ins, then plug-ins.

    A source may also define ``async aclose()``; :meth:`aclose` calls it when the evaluator stops."""

    def __init__(self, sources: Sequence[ScorerSource]) -> None:
        self.sources = list(sources)

    def resolve(self, ref: ScorerRef) -> Scorer | None:
        for source in self.sources:
            scorer = source.resolve(ref)
            if scorer is not None:
                return scorer
        return None

    async def aclose(self) -> None:
        for source in self.sources:
            close = getattr(source, "aclose", None)
            if close is not None:
                try:
                    await close()
                except Exception:  # one source failing to close must not keep the others open
                    logger.exception("closing scorer source %r failed", source)
