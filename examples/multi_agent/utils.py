from judgeval.tracer import Tracer

judgment = Tracer(project_name="multi-agent-system")
