"""judgeval-otel evaluator service: OTLP in, durable scoring, enriched OTLP out."""
