"""The SDK↔evaluator contract: everything the SDK writes onto a span and the evaluator reads back.

One module per part, each imported by both sides (never re-implemented on either):

- :mod:`~judgeval.protocol.evaluation_request`: the evaluation-request payload (encoding and strict decoding);
- :mod:`~judgeval.protocol.sampling`: the deterministic per-trace sampling rule;
- :mod:`~judgeval.protocol.score_attributes`: how a score is written onto a span, and the span-level verdict;
- :mod:`~judgeval.protocol.otlp_values`: reading and writing OTLP protobuf attribute values;
- :mod:`~judgeval.protocol.span_content`: where each attribute vocabulary keeps a span's input, output and
  role (rules' examples, trajectories on both sides);
- :mod:`~judgeval.protocol.interaction_record`: one scored interaction as datasets, exports and the console
  keep it (the JSON form `judgeval datasets export` writes and `Dataset.pull` reads).

The attribute names themselves live in :mod:`judgeval.semconv`. This package imports nothing on load, so
the SDK's hot path pays only for the module it uses.
"""
