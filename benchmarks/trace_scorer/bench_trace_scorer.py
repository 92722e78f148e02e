"""The trace scorer the trajectory-scorer benchmark uploads: walks every tool call, like a loop detector."""

from judgeval.scorers.trace_scorer import TraceScorer


class BenchTraceScorer(TraceScorer):
    name: str = "Bench Trace Scorer"
    server_hosted: bool = True

    async def a_score_trace(self, trace) -> float:
        calls = trace.tool_calls()
        self.reason = f"{len(calls)} tool calls"
        return 1.0
