"""An unmodified OpenAI Agents SDK app: one agent answers one question (under opentelemetry-instrument)."""

from agents import Agent, Runner

agent = Agent(name="WeatherAgent", instructions="Answer questions about the weather.", model="gpt-4o-mini")
print(Runner.run_sync(agent, "What is the weather in Oslo?").final_output)
