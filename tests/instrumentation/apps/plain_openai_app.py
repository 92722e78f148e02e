"""An unmodified OpenAI app: no judgeval, no OpenTelemetry. Run it under ``opentelemetry-instrument``."""

import openai

client = openai.OpenAI()
question = [{"role": "user", "content": "Where is my package?"}]
completion = client.chat.completions.create(model="gpt-5-mini", messages=question)
print(completion.choices[0].message.content)
stream = client.chat.completions.create(
    model="gpt-5-mini", messages=question, stream=True, stream_options={"include_usage": True}
)
print("".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices))
