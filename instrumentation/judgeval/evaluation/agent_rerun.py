"""Re-running the user's (fixed) agent on stored examples, locally, before their outputs are scored again.

``--agent module:function`` (or ``agent=`` in :func:`judgeval.evaluation.evaluate_dataset`) names a
function, sync or async. It is called with the example fields its parameters name (``input``,
``request``, ...; all of them when it takes ``**kwargs``), and what it returns becomes the example's output:

- a ``dict`` replaces (or adds) the fields it holds, e.g. ``{"response": "..."}``;
- anything else replaces the output field: ``--output-field``, else the first of ``actual_output``,
  ``output``, ``response`` the example has, else ``actual_output``.

An agent that raises, or needs a field the example lacks, fails that case alone (``agent_error``, listed in
the report); the other cases go on.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from functools import partial
from pathlib import Path
from typing import Any

from judgeval.errors import JudgevalError
from judgeval.evaluation.errors import EvaluationError

OUTPUT_FIELDS = ("actual_output", "output", "response")
"""Fields an agent's (non-dict) answer replaces, first present wins; ``actual_output`` when none is."""

AGENT_ERROR = "agent_error"
"""The error kind of a case whose agent re-run failed."""


class AgentCaseFailed(JudgevalError):
    """The agent failed on one example (that case alone fails); the message is the report's reason."""


def load_agent(spec: str, search_path: Path | None = None) -> Callable[..., Any]:
    """The function ``module:function`` (``module:Class.method`` too) names, importing ``module`` with the
    current directory (or ``search_path``) on ``sys.path`` as ``python -c`` would."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise EvaluationError(f"--agent must be module:function, got {spec!r}", bad_input=True)
    where = str(search_path or Path.cwd())
    if where not in sys.path:
        sys.path.insert(0, where)
    try:
        target: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise EvaluationError(f"cannot import agent module {module_name!r}: {exc} (run from the directory "
                              "that holds it, or install it)", bad_input=True) from None
    except Exception as exc:  # the user's module raised while importing
        raise EvaluationError(f"importing agent module {module_name!r} failed: {type(exc).__name__}: {exc}",
                              bad_input=True) from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise EvaluationError(f"agent module {module_name!r} has no {attribute!r}", bad_input=True)
        target = getattr(target, part)
    if not callable(target):
        raise EvaluationError(f"--agent {spec!r} is not callable", bad_input=True)
    return target  # type: ignore[no-any-return]


class AgentRerun:
    """Calls one agent function on examples and builds the examples to score from its answers."""

    def __init__(self, agent: Callable[..., Any], output_field: str | None = None) -> None:
        self.agent = agent
        self.output_field = output_field
        self._parameters = _parameters(agent)
        self._loop: asyncio.AbstractEventLoop | None = None

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
            self._loop = None

    def new_example(self, example: dict[str, Any]) -> dict[str, Any]:
        """``example`` with the agent's new output; :class:`AgentCaseFailed` says why there is none."""
        answer = self._answer(example, lambda pending: self._event_loop().run_until_complete(pending))
        return self._with_answer(example, answer)

    def new_examples(self, examples: dict[str, dict[str, Any]], concurrency: int = 1,
                     on_done: Callable[[], None] = lambda: None
                     ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """The new example per id and, for the ids that have none, why; up to ``concurrency`` agent calls at a
        time (an ``async def`` agent's on one event loop, a plain function's in threads). ``on_done`` is
        called once per example."""
        done: dict[str, dict[str, Any]] = {}
        failed: dict[str, str] = {}
        if concurrency > 1 and inspect.iscoroutinefunction(self.agent):
            gathered = self._gathered(examples, concurrency, done, failed, on_done)
            self._event_loop().run_until_complete(gathered)
            return done, failed
        if concurrency > 1:
            with ThreadPoolExecutor(concurrency, thread_name_prefix="judgeval-agent") as pool:
                futures = {pool.submit(self._threaded, example): key for key, example in examples.items()}
                for future in as_completed(futures):
                    _settle(futures[future], future.result, done, failed)
                    on_done()
            return done, failed
        for key, example in examples.items():
            _settle(key, partial(self.new_example, example), done, failed)
            on_done()
        return done, failed

    async def _gathered(self, examples: dict[str, dict[str, Any]], concurrency: int,
                        done: dict[str, dict[str, Any]], failed: dict[str, str],
                        on_done: Callable[[], None]) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(key: str, example: dict[str, Any]) -> None:
            async with gate:
                try:
                    answer = self.agent(**self._arguments(example))
                    done[key] = self._with_answer(example, await answer)
                except AgentCaseFailed as exc:
                    failed[key] = str(exc)
                except Exception as exc:  # the agent's own failure fails this case alone
                    failed[key] = _raised(exc)
                on_done()

        await asyncio.gather(*(one(key, example) for key, example in examples.items()))

    def _threaded(self, example: dict[str, Any]) -> dict[str, Any]:
        """One example on a worker thread: an awaitable answer gets an event loop of its own there."""
        return self._with_answer(example, self._answer(example, lambda pending: asyncio.run(pending)))

    def _answer(self, example: dict[str, Any], wait: Callable[[Any], Any]) -> Any:
        kwargs = self._arguments(example)
        try:
            answer = self.agent(**kwargs)
            if inspect.isawaitable(answer):
                answer = wait(_awaited(answer))
        except Exception as exc:  # the agent's own failure fails this case alone
            raise AgentCaseFailed(_raised(exc)) from exc
        return answer

    def _with_answer(self, example: dict[str, Any], answer: Any) -> dict[str, Any]:
        updated = dict(example)
        if isinstance(answer, dict):
            updated.update({str(k): _json_value(v) for k, v in answer.items()})
        else:
            updated[self._output_field(example)] = _json_value(answer)
        return updated

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        """One loop for every async call, so clients an agent caches stay bound to a live loop."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop

    def _arguments(self, example: dict[str, Any]) -> dict[str, Any]:
        names, takes_any, required = self._parameters
        if takes_any:
            return dict(example)
        missing = [name for name in required if name not in example]
        if missing:
            raise AgentCaseFailed(f"the agent needs {', '.join(map(repr, missing))} but the example has only "
                                  f"{', '.join(map(repr, sorted(example))) or 'no fields'}")
        return {name: example[name] for name in names if name in example}

    def _output_field(self, example: dict[str, Any]) -> str:
        if self.output_field:
            return self.output_field
        return next((name for name in OUTPUT_FIELDS if name in example), OUTPUT_FIELDS[0])


async def _awaited(answer: Any) -> Any:
    return await answer


def _raised(exc: Exception) -> str:
    return f"the agent raised {type(exc).__name__}: {exc}"


def _settle(key: str, result: Callable[[], dict[str, Any]], done: dict[str, dict[str, Any]],
            failed: dict[str, str]) -> None:
    try:
        done[key] = result()
    except AgentCaseFailed as exc:
        failed[key] = str(exc)


def _parameters(agent: Callable[..., Any]) -> tuple[list[str], bool, list[str]]:
    """(names it accepts by keyword, whether it takes ``**kwargs``, names it requires)."""
    try:
        signature = inspect.signature(agent)
    except (TypeError, ValueError):  # a builtin without a signature: give it every field
        return [], True, []
    names, required, takes_any = [], [], False
    for parameter in signature.parameters.values():
        if parameter.kind is parameter.VAR_KEYWORD:
            takes_any = True
        elif parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            names.append(parameter.name)
            if parameter.default is parameter.empty:
                required.append(parameter.name)
        elif parameter.kind is parameter.POSITIONAL_ONLY and parameter.default is parameter.empty:
            raise EvaluationError(f"the agent's parameter {parameter.name!r} is positional-only: it must be "
                                  "passable by name (an example field's name)", bad_input=True)
    return names, takes_any, required


def _json_value(value: Any) -> Any:
    """``value`` if JSON can carry it, else its ``str()`` (as the SDK encodes example fields)."""
    if hasattr(value, "model_dump"):  # a pydantic model, e.g. a typed Example or a structured answer
        value = value.model_dump(mode="json")
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value
