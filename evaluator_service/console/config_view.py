"""What the console reads of the evaluator's configuration, as a protocol.

An :class:`~evaluator_service.config.EvaluatorConfig` is one. The console types against this instead of
importing ``evaluator_service.config``, which assembles every section (the console's own included) and so
sits above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from evaluator_service.config_sections import RuleConfig
from evaluator_service.console.settings import ConsoleDataConfig
from evaluator_service.console.web_settings import ConsoleConfig
from evaluator_service.ingress import IngressConfig
from evaluator_service.scoring.settings import ScorerConfig


class ConsoleConfigView(Protocol):
    """The configuration sections the console's server and pages read."""

    @property
    def api_key(self) -> str | None: ...

    @property
    def console(self) -> ConsoleConfig: ...

    @property
    def console_data(self) -> ConsoleDataConfig: ...

    @property
    def scorers(self) -> Sequence[ScorerConfig]: ...

    @property
    def rules(self) -> Sequence[RuleConfig]: ...

    @property
    def alerts(self) -> Sequence[Any]:
        """``AlertConfig`` s (the alerts package sits above the console, so not named here)."""
        ...

    @property
    def ingress(self) -> IngressConfig: ...
