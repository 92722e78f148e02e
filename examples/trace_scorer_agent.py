"""The docs' multi-agent system, scored as a whole trajectory by a trace scorer.

A planner asks a researcher, which searches the web (a tool) and summarizes with an LLM, then hands the
notes to a task agent. ``ToolLoopScorer`` reads the whole trajectory (every span below ``plan``) and fails
it when one tool is called with the same arguments more than ``max_repeats`` times in a row, the classic
agent loop. Run it clean, then with ``--loop`` (the search finds nothing and the researcher retries):

    python trace_scorer_agent.py          # evaluate Tool Loop Scorer: 1.0
    python trace_scorer_agent.py --loop   # 0.0, "tool 'search_web' was called 4 times in a row ..."

The score is a span ``evaluate Tool Loop Scorer`` under ``plan`` (and a ``gen_ai.evaluation.result`` log
record). Here the scorer runs in this process (``server_hosted=False``). To run it in the evaluator instead,
set ``server_hosted = True`` and upload this file with requirements that bring ``openai``, which it imports:
``judgeval upload_scorer trace_scorer_agent.py customer_service/requirements.txt`` (the CLI finds the
``TraceScorer`` subclass).
"""

import json
import sys

from openai import OpenAI

from judgeval.scorers.trace_scorer import TraceScorer
from judgeval.tracer import TraceScorerConfig, Tracer, wrap

judgment = Tracer(project_name="multi-agent-system")
client = wrap(OpenAI())


class ToolLoopScorer(TraceScorer):
    name: str = "Tool Loop Scorer"
    server_hosted: bool = False
    max_repeats: int = 3

    async def a_score_trace(self, trace) -> float:
        longest, looping_tool, run, previous = 0, "", 0, None
        for call in trace.tool_calls():
            key = (call.name, json.dumps(call.arguments, sort_keys=True, default=str))
            run = run + 1 if key == previous else 1
            previous = key
            if run > longest:
                longest, looping_tool = run, call.name
        if longest > self.max_repeats:
            self.reason = f"tool {looping_tool!r} was called {longest} times in a row with the same arguments"
            return 0.0
        self.reason = f"no tool was called more than {self.max_repeats} times in a row with the same arguments"
        return 1.0


class ResearchAgent:
    def __init__(self, id, search_finds_nothing=False):
        self.id = id
        self.search_finds_nothing = search_finds_nothing

    @judgment.observe(span_type="tool")
    def search_web(self, query):
        if self.search_finds_nothing:
            return []
        return [f"{query}: agents coordinate through a planner", f"{query}: tools need guardrails"]

    @judgment.agent()
    @judgment.observe()
    def research(self, topic):
        results = []
        for _attempt in range(4):  # a naive retry loop: the same query again and again
            results = self.search_web(topic)
            if results:
                break
        summary = client.chat.completions.create(
            model="gpt-5-mini",
            messages=[{"role": "user", "content": f"Summarize research notes on {topic}: {results}"}],
        )
        return summary.choices[0].message.content


class TaskAgent:
    def __init__(self, id):
        self.id = id

    @judgment.agent()
    @judgment.observe()
    def perform_task(self, task):
        return f"Performed task: {task}, here are the results: Results include..."


class PlanningAgent:
    def __init__(self, id, search_finds_nothing=False):
        self.id = id
        self.search_finds_nothing = search_finds_nothing

    @judgment.agent()
    @judgment.observe(span_type="function", scorer_config=TraceScorerConfig(scorer=ToolLoopScorer()))
    def plan(self, goal):
        research_agent = ResearchAgent("Researcher1", self.search_finds_nothing)
        task_agent = TaskAgent("Tasker1")
        research_results = research_agent.research(goal)
        task_result = task_agent.perform_task(research_results)
        return f"Results from planning and executing for goal '{goal}': {task_result}"


if __name__ == "__main__":
    planning_agent = PlanningAgent("planner-1", search_finds_nothing="--loop" in sys.argv)
    print(planning_agent.plan("Build a multi-agent system"))
    judgment.flush()  # wait for the local trace score before exiting
