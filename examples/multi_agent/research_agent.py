from utils import judgment


class ResearchAgent:
    def __init__(self, id):
        self.id = id

    @judgment.agent()
    @judgment.observe()
    def research(self, topic):
        return f"Research notes for topic: {topic}: Findings and insights include..."
