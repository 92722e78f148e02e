"""Living next to other OpenAI/Anthropic instrumentations without duplicating LLM spans.

The official OpenTelemetry OpenAI instrumentation (``opentelemetry-instrumentation-genai-openai``, formerly
``-openai-v2``), OpenInference (``openinference-instrumentation-openai`` / ``-anthropic``) and OpenLLMetry
(``opentelemetry-instrumentation-openai`` / ``-anthropic``) trace the same client calls we do. If two
traced a call, it would show up (and be scored) twice. With ``JUDGEVAL_OPENAI_SPANS=auto`` (the default)
judgeval checks, per call, whether another instrumentor of that vendor's package is active and then creates
no span of its own; agent attribution still reaches the other's spans through
``AgentAttributionSpanProcessor``. ``judgeval`` always traces (disable the others, e.g. with
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=openai``), ``off`` never traces OpenAI calls.

"Active" is never the package's presence. Two signals count, either one suffices:

- an instrumentor's own ``is_instrumented_by_opentelemetry`` flag: every one of them is an OpenTelemetry
  ``BaseInstrumentor`` whose ``instrumentation_dependencies()`` names the vendor package it patches, so
  any such instrumentor, known here or not, counts;
- a ``wrapt`` wrapper of another package on the client class's method (at any depth of the wrapper
  chain): it catches tracers that are not ``BaseInstrumentor`` s (or do not declare the package), and
  wrappers an instrumentor's ``uninstrument()`` left behind (OpenLLMetry's OpenAI one 0.62.4 leaves its
  wrappers on, still making spans, while it says it is off).
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

import wrapt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from judgeval import environment_variables, semconv

logger = logging.getLogger("judgeval")

VENDOR_PACKAGES = {
    semconv.GenAiProviderName.OPENAI: "openai",
    semconv.GenAiProviderName.ANTHROPIC: "anthropic",
}
"""The client package whose instrumentors trace a provider's calls."""

_OWN_MODULE_PREFIX = "judgeval."
_MAX_WRAPPER_DEPTH = 8
# What ``wrapt.wrap_function_wrapper`` puts on a class, and what it gives when read from an instance.
_FUNCTION_WRAPPERS = (wrapt.FunctionWrapper, wrapt.BoundFunctionWrapper)
_patched_packages: dict[type, frozenset[str]] = {}


class OpenAiSpanMode(StrEnum):
    """Values of ``JUDGEVAL_OPENAI_SPANS``."""

    AUTO = "auto"
    JUDGEVAL = "judgeval"
    OFF = "off"


def openai_span_mode() -> OpenAiSpanMode:
    """The mode chosen by ``JUDGEVAL_OPENAI_SPANS``; an unknown value means ``auto`` (and is logged)."""
    raw = os.environ.get(environment_variables.JUDGEVAL_OPENAI_SPANS, "").strip().lower()
    if not raw:
        return OpenAiSpanMode.AUTO
    try:
        return OpenAiSpanMode(raw)
    except ValueError:
        logger.warning(
            "%s=%r is not one of auto, judgeval, off; using auto",
            environment_variables.JUDGEVAL_OPENAI_SPANS, raw,
        )
        return OpenAiSpanMode.AUTO


def _instrumentor_classes(cls: type = BaseInstrumentor) -> Iterator[type]:
    subclass: type
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _instrumentor_classes(subclass)


def _packages_patched_by(instrumentor: BaseInstrumentor) -> frozenset[str]:
    """The packages an instrumentor's ``instrumentation_dependencies()`` names, read once per class."""
    cls = type(instrumentor)
    names = _patched_packages.get(cls)
    if names is None:
        found = set()
        try:
            for dependency in instrumentor.instrumentation_dependencies():
                try:
                    found.add(canonicalize_name(Requirement(dependency).name))
                except InvalidRequirement:
                    continue
        except Exception:  # a third party's bug: treat it as instrumenting nothing we trace
            logger.debug("could not read %s's instrumentation dependencies", cls.__name__, exc_info=True)
        names = _patched_packages[cls] = frozenset(found)
    return names


def active_instrumentors(package: str) -> list[str]:
    """Names of the active instrumentors (other than judgeval's) that patch ``package``'s calls."""
    active = []
    for cls in _instrumentor_classes():
        # The class's own singleton: a subclass would otherwise see its parent's through inheritance.
        instance = vars(cls).get("_instance")
        if (
            instance is not None
            and getattr(instance, "is_instrumented_by_opentelemetry", False)
            and not cls.__module__.startswith(_OWN_MODULE_PREFIX)
            and package in _packages_patched_by(instance)
        ):
            active.append(f"{cls.__module__}.{cls.__qualname__}")
    return active


def _foreign_wrapper(method: Any) -> bool:
    for _ in range(_MAX_WRAPPER_DEPTH):
        if not isinstance(method, _FUNCTION_WRAPPERS):
            return False
        module = getattr(method._self_wrapper, "__module__", None) or ""
        if not module.startswith(_OWN_MODULE_PREFIX):
            return True
        method = method.__wrapped__
    return False


def foreign_wrapper_on(called: Any, instance: Any) -> bool:
    """Whether another package's ``wrapt`` wrapper sits on the class's method named like ``called``.

    The class's current attribute, not ``called``: ``wrap()`` captured ``called`` when it patched the
    instance, and the class's wrappers may have changed since.
    """
    name = getattr(called, "__name__", None)
    if not isinstance(name, str) or instance is None:
        return False
    return _foreign_wrapper(inspect.getattr_static(type(instance), name, None))


def defer_to_other_instrumentation(
    provider: semconv.GenAiProviderName, called: Any = None, instance: Any = None
) -> bool:
    """Whether judgeval should leave this call (``called`` on ``instance``) to another instrumentation.

    ``off`` leaves OpenAI calls to nobody; ``auto`` defers when :func:`active_instrumentors` finds one for
    the provider's package or :func:`foreign_wrapper_on` finds another package's wrapper on the method.
    """
    mode = openai_span_mode()
    if mode is OpenAiSpanMode.JUDGEVAL:
        return False
    if mode is OpenAiSpanMode.OFF and provider is semconv.GenAiProviderName.OPENAI:
        return True
    package = VENDOR_PACKAGES.get(provider)
    if package is None:
        return False
    return bool(active_instrumentors(package)) or foreign_wrapper_on(called, instance)
