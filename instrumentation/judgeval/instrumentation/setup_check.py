"""The ``opentelemetry_pre_instrument`` hook: judgeval's content defaults, and one line when the setup is off.

``opentelemetry-instrument`` loads ONE distro and ONE configurator: the first installed, unless
``OTEL_PYTHON_DISTRO`` / ``OTEL_PYTHON_CONFIGURATOR`` name one. With ``opentelemetry-distro`` installed too
(the usual getting-started path) which one wins depends on install order, and the judgeval distro's
defaults may never run. This hook runs in every case, after the distro and configurator and before any
instrumentor, so:

* GenAI message content capture is on whichever distro ran (``setdefault``: a user's value wins), because
  rules can only score what the spans carry;
* a setup that exports nothing, or not what judgeval's defaults would, is reported in ONE warning line
  that says what to set. Nothing is raised: the app must run either way.
"""

from __future__ import annotations

import logging
import os
from importlib.metadata import entry_points

from opentelemetry import trace
from opentelemetry.environment_variables import OTEL_TRACES_EXPORTER
from opentelemetry.instrumentation.environment_variables import OTEL_PYTHON_CONFIGURATOR, OTEL_PYTHON_DISTRO
from opentelemetry.sdk.trace import TracerProvider

from judgeval._internal_errors import log_internal_error
from judgeval.instrumentation.distro import CONTENT_DEFAULTS, JudgevalDistro

logger = logging.getLogger("judgeval")

OUR_NAME = "judgeval"
"""The name of each of our entry points."""


def check_setup() -> None:
    """Apply the content defaults and warn, in one line, about the first setup problem found."""
    try:
        for name, value in CONTENT_DEFAULTS.items():
            os.environ.setdefault(name, value)
        problem = setup_problem()
    except Exception:  # a check must never stop the app from starting (but fails a test)
        log_internal_error("judgeval: checking the opentelemetry-instrument setup failed")
        return
    if problem:
        logger.warning("judgeval: %s", problem)


def setup_problem() -> str | None:
    """What is wrong with this process's ``opentelemetry-instrument`` setup, as one sentence, if anything."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        chosen = os.environ.get(OTEL_PYTHON_CONFIGURATOR)
        installed = _names("opentelemetry_configurator")
        reason = (f"{OTEL_PYTHON_CONFIGURATOR}={chosen} matches none of the installed ones ({installed})"
                  if chosen else "none is installed")
        return (f"no configurator set up the OpenTelemetry SDK ({reason}), so no spans are exported unless "
                f"the app sets up a TracerProvider itself; set {OTEL_PYTHON_CONFIGURATOR}={OUR_NAME}")
    if JudgevalDistro.applied:
        return None
    chosen = os.environ.get(OTEL_PYTHON_DISTRO)
    if chosen and chosen not in _names("opentelemetry_distro").split(", "):
        return (f"{OTEL_PYTHON_DISTRO}={chosen} matches none of the installed distros "
                f"({_names('opentelemetry_distro')}), so no exporter defaults were applied; "
                f"set {OTEL_PYTHON_DISTRO}={OUR_NAME}")
    if not os.environ.get(OTEL_TRACES_EXPORTER, "").strip():
        return (f"{OTEL_TRACES_EXPORTER} is unset and the {chosen or 'loaded'} distro did not set it, so no "
                f"spans are exported; set {OTEL_PYTHON_DISTRO}={OUR_NAME} (or {OTEL_TRACES_EXPORTER}=otlp)")
    if chosen:
        return None  # the user picked that distro on purpose: its defaults are theirs
    return (f"the {_first_distro()!r} distro was found before judgeval's and configured this process (OTLP "
            f"metrics and logs on, which the shipped collector configs accept and the evaluator does not); "
            f"set {OTEL_PYTHON_DISTRO}={OUR_NAME} for judgeval's defaults")


def _names(group: str) -> str:
    return ", ".join(ep.name for ep in entry_points(group=group)) or "none"


def _first_distro() -> str:
    """The distro ``opentelemetry-instrument`` loads when none is named: the first one found."""
    return next(iter(entry_points(group="opentelemetry_distro"))).name
