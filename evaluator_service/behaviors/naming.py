"""Names for new behaviors: a chat model's 3-6 word summary of a few members, or the salient terms.

Naming never blocks export: a new behavior is stored with its provisional (salient-terms) name at once,
and :class:`BehaviorNamer` asks the model in the background, then renames the stored behavior — unless an
operator has renamed it meanwhile (their name always wins; see ``rename_behavior``).
"""

from __future__ import annotations

import asyncio
import logging

from evaluator_service.behaviors.settings import ModelEndpoint
from evaluator_service.behaviors.text import clean_model_name
from evaluator_service.scoring.llm_client import LLMClient
from evaluator_service.state.behavior_rows import NAME_AUTO, BehaviorState, StoredBehavior

logger = logging.getLogger(__name__)

NAMING_TIMEOUT_S = 30.0

PROMPT = """You group failures of an AI agent, detected by the scorer "{scorer}", into behaviors.
Give this group of similar failures a short name of 3 to 6 words that says what the agent did wrong.
Answer with the name only.

Failures:
{examples}"""


def naming_prompt(behavior: StoredBehavior) -> str:
    """The prompt sent to the naming model for ``behavior`` (a few member texts, each shortened)."""
    examples = "\n".join(f"- {e.text[:400]}" for e in behavior.examples[:3])
    return PROMPT.format(scorer=behavior.scorer, examples=examples)


class BehaviorNamer:
    """Names new behaviors with a chat model in background tasks; :meth:`aclose` cancels what is left."""

    def __init__(self, endpoint: ModelEndpoint, state: BehaviorState) -> None:
        self._client = LLMClient(endpoint.model or "", endpoint.base_url, endpoint.api_key_env)
        self._state = state
        self._tasks: set[asyncio.Task[None]] = set()

    def name_later(self, behavior: StoredBehavior) -> None:
        """Start naming ``behavior``; returns at once."""
        task = asyncio.get_running_loop().create_task(self._name(behavior), name=f"name-{behavior.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_idle(self) -> None:
        """Wait for the naming tasks started so far (tests and orderly shutdown)."""
        if self._tasks:
            await asyncio.gather(*set(self._tasks), return_exceptions=True)

    async def _name(self, behavior: StoredBehavior) -> None:
        try:
            async with asyncio.timeout(NAMING_TIMEOUT_S):
                answer = await self._client.complete(naming_prompt(behavior))
            name = clean_model_name(answer)
            if name:
                await self._state.rename_behavior(behavior.id, name, NAME_AUTO)
        except Exception as exc:  # a name is a nicety: keep the provisional one, say why once
            logger.warning("naming behavior %s failed, keeping %r: %s", behavior.id, behavior.name, exc)

    async def aclose(self) -> None:
        """Cancel unfinished naming and close the model client."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()
