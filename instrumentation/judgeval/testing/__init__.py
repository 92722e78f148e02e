"""Local stand-ins for paid LLM vendors, and a real OTLP receiver, for the local stack and the tests."""

from judgeval.testing.openai_server import RecordedOpenAIServer
from judgeval.testing.otlp_receiver import OtlpTraceReceiver, ReceivedSpan
from judgeval.testing.recording import Recording, default_recordings

__all__ = ["OtlpTraceReceiver", "ReceivedSpan", "RecordedOpenAIServer", "Recording", "default_recordings"]
