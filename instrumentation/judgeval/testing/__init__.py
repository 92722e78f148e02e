"""Local stand-ins for paid LLM vendors, and a real OTLP receiver, for the local stack and the tests."""

from judgeval.testing.openai_server import RecordedOpenAIServer, Recording, default_recordings
from judgeval.testing.otlp_receiver import OtlpTraceReceiver, ReceivedSpan

__all__ = ["OtlpTraceReceiver", "ReceivedSpan", "RecordedOpenAIServer", "Recording", "default_recordings"]
