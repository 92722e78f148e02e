"""Readers of the trace backends users already run (Jaeger's query API), for scoring spans after the fact.

:mod:`~evaluator_service.backends.stored_spans` holds what a reader returns (OTLP protobuf spans with their
resource and scope), :mod:`~evaluator_service.backends.jaeger_query` reads them from Jaeger.
"""
