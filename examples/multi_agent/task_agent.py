from utils import judgment


class TaskAgent:
    def __init__(self, id):
        self.id = id

    @judgment.agent()
    @judgment.observe()
    def perform_task(self, task):
        result = f"Performed task: {task}, here are the results: Results include..."
        return result
