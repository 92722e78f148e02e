"""The scorer files hosted tests upload, and how they reach the in-process admin server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evaluator_service.registry import Registry

SCORERS = Path(__file__).parent / "scorers"
DOCS_SCORER = Path(__file__).parents[2] / "examples" / "customer_service" / "customer_service_scorer.py"
"""The docs' scorer, as the examples keep it."""
DOCS_REQUIREMENTS = "pydantic\nopenai\n"
API_KEY = "test-admin-key"


@dataclass
class AdminServer:
    """Where the test's admin gRPC server listens, and the registry behind it."""

    target: str
    registry: Registry


def cli_env(server: AdminServer, key: str = API_KEY) -> dict[str, str]:
    """The environment that points the ``judgeval`` CLI at ``server``."""
    return {"JUDGMENT_API_URL": server.target, "JUDGMENT_API_KEY": key}
