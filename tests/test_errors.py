"""Pins one exception tree per package: every public exception class derives from ``EvaluatorError``
(evaluator_service) or ``JudgevalError`` (judgeval)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import judgeval
from judgeval.cli.admin_client import CliError
from judgeval.errors import JudgevalError
from judgeval.protocol.evaluation_request import InvalidEvaluationRequest

import evaluator_service
from evaluator_service.config_values import ConfigError
from evaluator_service.errors import EvaluatorError, StartupError
from evaluator_service.queue import BatchTooLargeError, QueueFullError
from evaluator_service.sandbox.pool import SandboxUnavailable
from evaluator_service.state import StateUnavailable


def exception_classes(package: object) -> dict[str, type[BaseException]]:
    """Public exception classes (warnings excepted) defined in any module of ``package``."""
    found: dict[str, type[BaseException]] = {}
    prefix = f"{package.__name__}."  # type: ignore[attr-defined]
    for module_info in pkgutil.walk_packages(package.__path__, prefix):  # type: ignore[attr-defined]
        if module_info.name.endswith(("__main__", "_pb2", "_pb2_grpc")):
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException) and not name.startswith("_")
                    and not issubclass(value, Warning) and value.__module__ == module.__name__):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_public_exception_of_the_evaluator_derives_from_the_root() -> None:
    classes = exception_classes(evaluator_service)
    assert len(classes) >= 20  # the walk really found the tree, not an empty package
    assert sorted(name for name, cls in classes.items() if not issubclass(cls, EvaluatorError)) == []


def test_branches_keep_the_builtin_base_callers_caught_before() -> None:
    assert issubclass(ConfigError, ValueError)
    assert issubclass(SandboxUnavailable, RuntimeError)
    assert issubclass(BatchTooLargeError, QueueFullError)
    assert not issubclass(StateUnavailable, StartupError)


def test_every_public_exception_of_judgeval_derives_from_the_root() -> None:
    classes = exception_classes(judgeval)
    assert {f"{CliError.__module__}.CliError",
            f"{InvalidEvaluationRequest.__module__}.InvalidEvaluationRequest"} <= set(classes)
    assert sorted(name for name, cls in classes.items() if not issubclass(cls, JudgevalError)) == []
    assert issubclass(InvalidEvaluationRequest, ValueError)
