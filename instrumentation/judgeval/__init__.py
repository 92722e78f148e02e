"""judgeval on OpenTelemetry: trace agents, score live traffic, attach the scores to the spans."""
