from planning_agent import PlanningAgent

if __name__ == "__main__":
    planning_agent = PlanningAgent("planner-1")

    goal = "Build a multi-agent system"
    result = planning_agent.plan(goal)

    print(result)
