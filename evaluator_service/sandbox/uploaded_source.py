"""The :class:`~evaluator_service.scoring.contract.ScorerSource` of uploaded scorers.

Resolves a request's scorer by name (latest version unless the request pins one) in the registry and
runs it in a sandbox worker. Worker outcomes map onto the scoring contract: a judge rejecting the
scorer's credentials is a :class:`FatalScorerError` (the worker pauses the scorer), rate limits and
connection errors are transient, everything else the scorer did wrong is a :class:`ScorerCrashedError`.

With replicas, a scorer uploaded through another replica reaches this one's index within the refresh
interval. So that a span arriving in that window is not marked ``unknown_scorer``, a source created with
``recheck_unknown=True`` resolves a name its index lacks to a scorer that first re-checks the shared
database; such a source answers every name and must be the last of the chain (which is how
:class:`~evaluator_service.admin.HostedScorers` wires it). Without it, unknown names fall through (``None``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from judgeval.protocol.evaluation_request import EvaluationRequest, ScorerRef
from judgeval.scorers.source_check import EXAMPLE_KIND

from evaluator_service.registry import Registry, RequirementsInstallError, ScorerNotFound, StoredScorer
from evaluator_service.sandbox.pool import SandboxPool
from evaluator_service.sandbox.worker_handle import ScorerProgram, WorkerFailed, WorkerInterrupted
from evaluator_service.scoring.contract import (
    FatalScorerError,
    InvalidExampleError,
    ScoreOutcome,
    Scorer,
    ScorerCrashedError,
    ScorerKindError,
    ScoringError,
    TransientScorerError,
    UnknownScorerError,
)
from evaluator_service.scoring.kind_mixup import trajectory_scorer_on_span
from evaluator_service.state import StateUnavailable

_ERRORS: dict[str, type[ScoringError]] = {
    "fatal": FatalScorerError,
    "transient": TransientScorerError,
    "invalid_example": InvalidExampleError,
}


class UploadedScorer:
    """One stored scorer version, scored in the sandbox."""

    def __init__(self, stored: StoredScorer, registry: Registry, pool: SandboxPool,
                 programs: dict[str, ScorerProgram] | None = None) -> None:
        self.name = stored.name
        self.stored = stored
        self._registry = registry
        self._pool = pool
        self._programs = {} if programs is None else programs

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        """Run ``a_score_example`` of the uploaded class on ``example`` in a sandbox worker."""
        if self.stored.kind != EXAMPLE_KIND:
            raise ScorerKindError(trajectory_scorer_on_span(
                self.name, f"an uploaded TraceScorer, {self.stored.class_name} v{self.stored.version}"))
        return await self.run_in_sandbox({
            "example": example, "config": request.scorer.config, "threshold": request.scorer.threshold,
        })

    async def run_in_sandbox(self, payload: dict[str, Any]) -> ScoreOutcome:
        """One request (``payload``, see :mod:`~evaluator_service.sandbox.worker_process`) in a sandbox
        worker, its answer or failure mapped onto the scoring contract."""
        try:
            program = await self._program()
            answer = await self._pool.run(program, payload)
        except WorkerInterrupted as exc:  # another request broke the shared worker: retried by the runner
            raise TransientScorerError(f"{self.name} v{self.stored.version}: {exc}") from None
        except WorkerFailed as exc:
            self._programs.pop(program_key(self.stored), None)  # re-read source and environment next time
            raise ScorerCrashedError(f"{self.name} v{self.stored.version}: {exc}") from None
        except RequirementsInstallError as exc:
            raise ScorerCrashedError(f"{self.name}: its environment could not be rebuilt: {exc}") from None
        except ScorerNotFound as exc:  # deleted or replaced on another replica since it was resolved
            raise UnknownScorerError(str(exc)) from None
        except StateUnavailable as exc:
            raise TransientScorerError(f"{self.name}: {exc}") from None
        if answer.get("ok"):
            return ScoreOutcome(value=float(answer["value"]), reason=answer.get("reason"))
        error = _ERRORS.get(str(answer.get("kind")), ScorerCrashedError)
        raise error(f"{self.name} v{self.stored.version}: {answer.get('message', 'scorer failed')}")

    async def _program(self) -> ScorerProgram:
        """The program, cached per stored version by the source: reading the source file and checking
        the environment for every span would cost more than scoring it."""
        stored = self.stored
        key = program_key(stored)
        cached = self._programs.get(key)
        if cached is not None:
            return cached
        python = await self._registry.ensure_environment(stored)
        program = ScorerProgram(
            key=key, python=python, source=await self._registry.read_source(stored),
            module_file=stored.source_filename, class_name=stored.class_name,
        )
        self._programs[key] = program
        return program


class _MissingVersion:
    """Stands for a pinned version that does not exist, so the span says exactly that."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self._message = message

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        raise UnknownScorerError(self._message)


class _NotYetSeen:
    """A name (or pinned version) this replica's index lacks: re-check the shared database once, then
    score or say what is missing."""

    def __init__(self, ref: ScorerRef, source: UploadedScorerSource) -> None:
        self.name = ref.name
        self._ref = ref
        self._source = source

    async def score(self, example: dict[str, Any], request: EvaluationRequest) -> ScoreOutcome:
        try:
            await self._source.registry.refresh()  # one counter read when nothing changed
        except StateUnavailable as exc:
            raise UnknownScorerError(f"no scorer named {self.name!r} on this evaluator "
                                     f"(the shared registry could not be checked: {exc})") from None
        scorer = self._source.resolve_stored(self._ref)
        if scorer is None:
            raise UnknownScorerError(f"no scorer named {self.name!r} on this evaluator")
        return await scorer.score(example, request)


class UploadedScorerSource:
    """Scorers uploaded with ``judgeval upload_scorer`` (through any replica sharing the state database).

    ``recheck_unknown`` is explained in the module docstring. :meth:`astart` and :meth:`aclose` follow the
    evaluator's lifecycle: they start and stop the registry's refresh."""

    def __init__(self, registry: Registry, pool: SandboxPool, *, recheck_unknown: bool = False) -> None:
        self.registry = registry
        self._pool = pool
        self._recheck_unknown = recheck_unknown
        self._tasks: set[asyncio.Task[None]] = set()
        self._programs: dict[str, ScorerProgram] = {}
        pool.hide(registry.data_dir)
        registry.add_listener(self._forget)

    @property
    def pool(self) -> SandboxPool:
        """The sandbox workers (shared with the trajectory source of the same uploads)."""
        return self._pool

    @property
    def programs(self) -> dict[str, ScorerProgram]:
        """Programs cached per stored version (shared with the trajectory source of the same uploads)."""
        return self._programs

    @property
    def recheck_unknown(self) -> bool:
        """Whether names this replica's index lacks are re-checked in the shared database (module doc)."""
        return self._recheck_unknown

    async def astart(self) -> None:
        """Load the registry and follow other replicas' uploads."""
        await self.registry.start()

    async def aclose(self) -> None:
        await self.registry.close()

    def resolve(self, ref: ScorerRef) -> Scorer | None:
        found = self.resolve_stored(ref)
        if self._recheck_unknown and (found is None or isinstance(found, _MissingVersion)):
            return _NotYetSeen(ref, self)  # also for a pinned version another replica just added
        return found

    def resolve_stored(self, ref: ScorerRef) -> Scorer | None:
        """The scorer from this replica's index, or ``None`` if the index does not know the name."""
        stored = self.registry.find(ref.name, ref.version)
        if stored is not None:
            return UploadedScorer(stored, self.registry, self._pool, self._programs)
        versions = self.registry.versions(ref.name)
        if not versions:
            return None
        return _MissingVersion(ref.name, f"scorer {ref.name!r} has no version {ref.version} "
                                         f"(latest is {versions[-1].version})")

    def _forget(self, name: str) -> None:
        prefix = f"{name}@"
        for key in [k for k in self._programs if k.startswith(prefix)]:
            del self._programs[key]
        keys = [k for k in self._pool.program_keys() if k.startswith(prefix)]
        try:
            task = asyncio.get_running_loop().create_task(self._pool.discard(keys))
        except RuntimeError:  # no loop: nothing is running workers either
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def program_key(stored: StoredScorer) -> str:
    """Pool key: a new upload (even an overwrite of the same version) gets fresh workers."""
    return f"{stored.name}@{stored.version}#{stored.sha256[:16]}"
