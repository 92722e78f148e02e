"""Versioned storage of uploaded scorers and their isolated requirement environments."""

from evaluator_service.registry.environments import EnvironmentInstaller, RequirementsInstallError
from evaluator_service.registry.store import PointerRefused, Registry, ScorerNotFound, StoredScorer
from evaluator_service.registry.upload_versions import ScorerExists, UploadMode
from evaluator_service.registry.validation import InvalidUpload

__all__ = [
    "EnvironmentInstaller",
    "InvalidUpload",
    "PointerRefused",
    "Registry",
    "RequirementsInstallError",
    "ScorerExists",
    "ScorerNotFound",
    "StoredScorer",
    "UploadMode",
]
