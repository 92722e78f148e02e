"""Trace scorers the hosted tests upload (pick one with --class / class_name)."""

from judgeval.scorers.trace_scorer import TraceScorer


class ToolLoopScorer(TraceScorer):
    """Fails when one tool is called with the same arguments more than ``max_repeats`` times in a row."""

    name: str = "Tool Loop Scorer"
    server_hosted: bool = True
    max_repeats: int = 3

    async def a_score_trace(self, trace) -> float:
        worst, run, previous = ("", 0), 0, None
        for call in trace.tool_calls():
            key = (call.name, repr(call.arguments))
            run = run + 1 if key == previous else 1
            previous = key
            if run > worst[1]:
                worst = (call.name, run)
        agents = sorted({s.agent_name for s in trace.trace_spans if s.agent_name})
        root = trace.bounding_span
        children = len(trace.children(root)) if root else 0
        if worst[1] > self.max_repeats:
            self.reason = f"{worst[0]} called {worst[1]} times in a row (agents {agents}, {children} steps)"
            return 0.0
        self.reason = f"no loops (agents {agents}, {children} steps)"
        return 1.0


class CrashingTraceScorer(TraceScorer):
    name: str = "Crashing Trace Scorer"

    async def a_score_trace(self, trace) -> float:
        raise RuntimeError(f"cannot handle {len(trace.trace_spans)} spans")


class RunawayTraceScorer(TraceScorer):
    name: str = "Runaway Trace Scorer"

    async def a_score_trace(self, trace) -> float:
        while True:
            pass


class ExitingTraceScorer(TraceScorer):
    name: str = "Exiting Trace Scorer"

    async def a_score_trace(self, trace) -> float:
        import os

        os._exit(3)
