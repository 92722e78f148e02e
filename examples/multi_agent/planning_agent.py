from utils import judgment
from research_agent import ResearchAgent
from task_agent import TaskAgent


class PlanningAgent:
    def __init__(self, id):
        self.id = id

    @judgment.agent()
    @judgment.observe()
    def plan(self, goal):
        print(f"Agent {self.id} is planning for goal: {goal}")

        research_agent = ResearchAgent("Researcher1")
        task_agent = TaskAgent("Tasker1")

        research_results = research_agent.research(goal)
        task_result = task_agent.perform_task(research_results)

        return f"Results from planning and executing for goal '{goal}': {task_result}"
