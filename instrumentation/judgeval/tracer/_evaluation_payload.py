"""The SDK's fast path to the evaluation-request payload of :mod:`judgeval.protocol.evaluation_request`.

The request object is spelled by the protocol's ``request_json`` and the scorer object's shape is the
protocol's ``scorer_object``; this module only encodes those parts faster (a test pins that the result
decodes to what the protocol's own ``encode_request`` writes).

The scorer part of the payload rarely changes between calls, so its encoded text is cached per scorer
instance; the cache entry is used only while every field of the instance is still the very same immutable
object it was when encoded (a user may reassign a field between calls, and then it is encoded again).
Scorers whose dump could depend on anything else (computed fields, custom serializers, a container
field that could be mutated in place) are encoded on every call.
"""

from __future__ import annotations

import weakref
from typing import Any

from pydantic import BaseModel

from judgeval.protocol.evaluation_request import ScorerRef, request_json, scorer_object
from judgeval.scorers.example_scorer import BASE_FIELDS, ExampleScorer
from judgeval.scorers.trace_scorer import TraceScorer
from judgeval.tracer._capture import make_encoder

# The protocol's ``encode_json`` spelling, with the C encoder built once (see ``make_encoder``).
_encode = make_encoder(str, ensure_ascii=True, separators=(",", ":"))
_IMMUTABLE_SCALARS = frozenset({str, int, float, bool, type(None)})
AnyScorer = ExampleScorer | TraceScorer
"""Both scorer classes have the same base fields, so their scorer objects are encoded alike."""
_CACHE_CAP = 256  # scorer instances; past it the cache starts over (scorers are usually a handful)


class _Encoded:
    """A scorer's encoded text and the identity of every field value it was encoded from.

    The values are kept alive here, so their ids cannot be reused by other objects while the entry lives:
    equal ids mean the very same (immutable: only such scorers are cached) objects, hence the same JSON.
    """

    __slots__ = ("cls", "extra", "field_ids", "owner", "text", "values")

    def __init__(self, scorer: AnyScorer, text: str) -> None:
        fields, extra = scorer.__dict__, scorer.__pydantic_extra__
        self.owner = weakref.ref(scorer)
        self.cls = type(scorer)
        self.values = (tuple(fields.values()), tuple(extra.values()) if extra else ())
        self.field_ids = tuple(map(id, fields.values()))  # declared fields: the class fixes the names
        self.extra = _extra_fingerprint(extra)
        self.text = text

    def matches(self, scorer: AnyScorer) -> bool:
        return (
            self.owner() is scorer
            and type(scorer) is self.cls
            and tuple(map(id, scorer.__dict__.values())) == self.field_ids
            and _extra_fingerprint(scorer.__pydantic_extra__) == self.extra
        )


_cache: dict[int, _Encoded] = {}
_cacheable_classes: dict[type, bool] = {}


def _extra_fingerprint(extra: dict[str, Any] | None) -> tuple[Any, ...]:
    if not extra:
        return ()
    return (*extra, *map(id, extra.values()))


def json_fields(model: BaseModel, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """``model``'s fields as JSON data; python objects where pydantic cannot (the encoder str()s them)."""
    try:
        return model.model_dump(mode="json", exclude=set(exclude) if exclude else None)
    except Exception:  # fields pydantic cannot turn into JSON: the payload encoder falls back to str()
        return model.model_dump(exclude=set(exclude) if exclude else None)


def scorer_ref(scorer: AnyScorer) -> ScorerRef:
    """The payload's description of ``scorer``; its extra public fields are its config."""
    cls = type(scorer)
    config = json_fields(scorer, BASE_FIELDS)
    return ScorerRef(
        name=scorer.name,
        class_path=f"{cls.__module__}.{cls.__qualname__}",
        threshold=float(scorer.threshold),
        server_hosted=bool(scorer.server_hosted),
        config={k: v for k, v in config.items() if not k.startswith("_")},
    )


def _cacheable(scorer: AnyScorer) -> bool:
    cls = type(scorer)
    verdict = _cacheable_classes.get(cls)
    if verdict is None:
        decorators = cls.__pydantic_decorators__
        verdict = (
            not cls.model_computed_fields
            and not decorators.field_serializers
            and not decorators.model_serializers
            and cls.model_dump is BaseModel.model_dump
        )
        _cacheable_classes[cls] = verdict
    values = (*scorer.__dict__.values(), *(scorer.__pydantic_extra__ or {}).values())
    return verdict and all(type(value) in _IMMUTABLE_SCALARS for value in values)


def scorer_json(scorer: AnyScorer) -> str:
    """The encoded ``"scorer"`` object of a request for ``scorer`` (cached while its fields are unchanged)."""
    entry = _cache.get(id(scorer))
    if entry is not None and entry.matches(scorer):
        return entry.text
    text = _encode(scorer_object(scorer_ref(scorer)))
    if _cacheable(scorer):
        if len(_cache) >= _CACHE_CAP:
            _cache.clear()
        _cache[id(scorer)] = _Encoded(scorer, text)
    return text


def example_json(example: BaseModel) -> str:
    """``example`` as JSON: pydantic's own compact serializer (one call into Rust, half the time of a dump
    and an encode), or, for fields it cannot serialize, the dump with ``str()`` for what JSON cannot hold.

    The text may differ from ``json.dumps`` of the dump in escaping (non-ASCII stays as UTF-8) and float
    spelling, never in the decoded value.
    """
    try:
        return example.model_dump_json()
    except Exception:  # e.g. an arbitrary object in a field: fall back to str() for it, like the dump path
        return _encode(json_fields(example))


def encode_request(scorer: ExampleScorer, example: BaseModel, sampling_rate: float) -> str:
    """The request object for ``scorer`` on ``example``: decodes to what the protocol's ``encode_request``
    writes for the same request."""
    return request_json(scorer_json(scorer), example_json(example), sampling_rate)
