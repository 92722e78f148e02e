"""Name → scorer resolution: a chain of :class:`ScorerSource`, first answer wins."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from judgeval.protocol.evaluation_request import ScorerRef

from evaluator_service.scoring.contract import Scorer, ScorerSource

logger = logging.getLogger(__name__)


class ScorerChain:
    """Asks each source in order; YAML-configured scorers come first, then built-ins, then plug-ins.

    A source may also define ``async astart()`` and ``async aclose()``; :meth:`astart` and :meth:`aclose`
    call them when the evaluator starts and stops."""

    def __init__(self, sources: Sequence[ScorerSource]) -> None:
        self.sources = list(sources)

    def resolve(self, ref: ScorerRef) -> Scorer | None:
        for source in self.sources:
            scorer = source.resolve(ref)
            if scorer is not None:
                return scorer
        return None

    async def astart(self) -> None:
        for source in self.sources:
            start = getattr(source, "astart", None)
            if start is not None:
                await start()

    async def aclose(self) -> None:
        for source in self.sources:
            close = getattr(source, "aclose", None)
            if close is not None:
                try:
                    await close()
                except Exception:  # one source failing to close must not keep the others open
                    logger.exception("closing scorer source %r failed", source)
