"""Zero-code tracing under ``opentelemetry-instrument``: the judgeval instrumentor, distro and configurator.

``pip install judgeval-otel`` registers three entry points, so an unmodified OpenAI app run as
``opentelemetry-instrument python app.py`` exports GenAI spans (with agent attribution) over OTLP:

* ``opentelemetry_instrumentor`` ``judgeval`` → :class:`JudgevalInstrumentor` (turn it off with
  ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=judgeval``);
* ``opentelemetry_distro`` ``judgeval`` → :class:`JudgevalDistro` (only ``setdefault``s ``OTEL_*`` env);
* ``opentelemetry_configurator`` ``judgeval`` → :class:`JudgevalConfigurator` (the SDK's standard setup).

* ``opentelemetry_pre_instrument`` ``judgeval`` → :func:`~judgeval.instrumentation.setup_check.check_setup`
  (content capture on whichever distro ran; one warning line for a setup that exports nothing or not what
  judgeval's defaults would).

If ``opentelemetry-distro`` is installed too, there are two distros and two configurators and the first
one found wins; choose ours with ``OTEL_PYTHON_DISTRO=judgeval``.
"""

from judgeval.instrumentation.distro import JudgevalConfigurator, JudgevalDistro
from judgeval.instrumentation.instrumentor import JudgevalInstrumentor

__all__ = ["JudgevalConfigurator", "JudgevalDistro", "JudgevalInstrumentor"]
