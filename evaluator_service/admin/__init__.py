"""The evaluator's admin gRPC API (``judgeval.admin.v1``) and the wiring of hosted scorers."""

from evaluator_service.admin.hosting import HostedScorers
from evaluator_service.admin.servicer import ScorerAdminServicer, install_admin_service

__all__ = ["HostedScorers", "ScorerAdminServicer", "install_admin_service"]
