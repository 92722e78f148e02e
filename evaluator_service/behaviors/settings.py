"""The ``behaviors:`` section of the evaluator config.

::

    behaviors:
      enabled: true                 # default: on; with no endpoints everything runs offline
      similarity_threshold: 0.75    # cosine similarity to join a behavior (default: the embedder's own)
      fields: [input, actual_output]
      timeout_s: 2.0                # per span; on timeout the span is exported without a behavior
      recluster_interval_s: 600     # splits mixed behaviors, then HDBSCAN merges near-duplicates (0: never)
      recluster_min_cluster_size: 2
      recluster_sample_size: 64     # members sampled per behavior, what mixed behaviors are split from
      recluster_split_min_group: 5  # fewest sampled members a group needs to be split off
      replay_memory_s: 86400        # a span scored again within this time is not counted again
      embedding: {model: text-embedding-3-small, base_url: ..., api_key_env: OPENAI_API_KEY}
      naming: {model: gpt-4o-mini, base_url: ..., api_key_env: OPENAI_API_KEY}
      lifecycle:                    # issues: new -> ongoing -> increasing -> resolved -> regressed
        interval_s: 60              # how often the lifecycle pass runs (each transition logged once)
        new_for_s: 3600             # "new" (and "regressed") this long, then "ongoing"
        trend_window_s: 900         # recent window compared with the usual rate
        baseline_window_s: 86400    # the usual rate is measured over this window before the recent one
        increase_factor: 3.0        # "increasing" at this many times the usual rate ...
        increase_min_members: 5     # ... and at least this many members in the recent window
        resolve_after_intervals: 10 # "resolved" after this many usual intervals between members ...
        resolve_min_s: 3600         # ... but never sooner than this ...
        resolve_max_s: 604800       # ... nor later than this
      inputs: {enabled: false, sample_rate: 0.1, max_pending: 64}  # new input patterns (kind input)

Without ``embedding.model`` failures are embedded offline (``embedding.local``: ``wordllama``, static
embeddings shipped in the wordllama wheel, or ``hashing``, scikit-learn hashed word and character n-grams);
without ``naming.model`` behaviors are named after the most frequent salient words of their reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evaluator_service.config_values import ConfigError, Section

DEFAULT_FIELDS = ("input", "actual_output")


LOCAL_WORDLLAMA = "wordllama"
LOCAL_HASHING = "hashing"


@dataclass(frozen=True)
class ModelEndpoint:
    """An OpenAI-compatible model: ``model`` unset means "use the offline embedder ``local``"."""

    model: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    local: str = LOCAL_WORDLLAMA


@dataclass(frozen=True)
class BehaviorsConfig:
    """How failing spans are grouped into behaviors."""

    enabled: bool = True
    similarity_threshold: float | None = None
    """``None``: the embedder's measured default (see ``Embedder.default_threshold``)."""
    fields: tuple[str, ...] = DEFAULT_FIELDS
    timeout_s: float = 2.0
    recluster_interval_s: float = 600.0
    """How often the re-clustering pass merges near-duplicate behaviors (0: never)."""
    recluster_min_cluster_size: int = 2
    recluster_sample_size: int = 64
    """Members kept per behavior in a random sample (reservoir) the pass splits mixed behaviors from (0:
    no sample, no splits)."""
    recluster_split_min_group: int = 5
    """Fewest sampled members each group of a split needs (a behavior is looked at from twice as many)."""
    replay_memory_s: float = 86400.0
    """How long each member's (kind, scorer, trace id, span id) is remembered, so a span scored again
    (after a crash, or a collector's retry) is not counted twice
    (:mod:`evaluator_service.state.behavior_placements`)."""
    embedding: ModelEndpoint = field(default_factory=ModelEndpoint)
    naming: ModelEndpoint = field(default_factory=ModelEndpoint)
    lifecycle: LifecycleConfig = field(default_factory=lambda: LifecycleConfig())
    inputs: InputsConfig = field(default_factory=lambda: InputsConfig())


@dataclass(frozen=True)
class InputsConfig:
    """Input-pattern discovery among scored traffic (:mod:`evaluator_service.behaviors.input_discovery`)."""

    enabled: bool = False
    """Off by default: each sampled scored span costs one state-database write."""
    sample_rate: float = 0.1
    """Share of scored traces whose input is placed (deterministic from the trace id)."""
    max_pending: int = 64


@dataclass(frozen=True)
class LifecycleConfig:
    """When a behavior is new, increasing, resolved (see :mod:`evaluator_service.behaviors.lifecycle`)."""

    interval_s: float = 60.0
    new_for_s: float = 3600.0
    trend_window_s: float = 900.0
    baseline_window_s: float = 86400.0
    increase_factor: float = 3.0
    increase_min_members: int = 5
    resolve_after_intervals: float = 10.0
    resolve_min_s: float = 3600.0
    resolve_max_s: float = 7 * 86400.0


_KEYS = frozenset({"enabled", "similarity_threshold", "fields", "timeout_s", "embedding", "naming",
                   "lifecycle", "recluster_interval_s", "recluster_min_cluster_size", "inputs",
                   "recluster_sample_size", "recluster_split_min_group", "replay_memory_s"})
_LIFECYCLE_NUMBERS = ("interval_s", "new_for_s", "trend_window_s", "baseline_window_s", "increase_factor",
                      "resolve_after_intervals", "resolve_min_s", "resolve_max_s")


def parse_behaviors(s: Section) -> BehaviorsConfig:
    """Validate the ``behaviors:`` mapping; every mistake is a :class:`ConfigError` naming the field."""
    s.reject_unknown(_KEYS)
    d = BehaviorsConfig()
    threshold = s.number("similarity_threshold", 0.5, strict=True) if s.has("similarity_threshold") else None
    if threshold is not None and threshold > 1:
        raise ConfigError(f"{s.where('similarity_threshold')}: must be between 0 and 1, got {threshold!r}")
    return BehaviorsConfig(
        enabled=_boolean(s, "enabled", d.enabled),
        similarity_threshold=threshold,
        fields=_names(s, "fields", d.fields),
        timeout_s=s.number("timeout_s", d.timeout_s, strict=True),
        recluster_interval_s=s.number("recluster_interval_s", d.recluster_interval_s),
        recluster_min_cluster_size=s.integer("recluster_min_cluster_size", d.recluster_min_cluster_size,
                                             minimum=2),
        recluster_sample_size=s.integer("recluster_sample_size", d.recluster_sample_size, minimum=0),
        recluster_split_min_group=s.integer("recluster_split_min_group", d.recluster_split_min_group,
                                            minimum=2),
        replay_memory_s=s.number("replay_memory_s", d.replay_memory_s),
        embedding=_endpoint(s.section("embedding"), local=True),
        naming=_endpoint(s.section("naming")),
        lifecycle=_lifecycle(s.section("lifecycle")),
        inputs=_inputs(s.section("inputs")),
    )


def _inputs(s: Section) -> InputsConfig:
    s.reject_unknown(frozenset({"enabled", "sample_rate", "max_pending"}))
    d = InputsConfig()
    rate = s.number("sample_rate", d.sample_rate)
    if rate > 1:
        raise ConfigError(f"{s.where('sample_rate')}: must be between 0 and 1, got {rate!r}")
    return InputsConfig(enabled=_boolean(s, "enabled", d.enabled), sample_rate=rate,
                        max_pending=s.integer("max_pending", d.max_pending, minimum=1))


def _lifecycle(s: Section) -> LifecycleConfig:
    s.reject_unknown(frozenset({*_LIFECYCLE_NUMBERS, "increase_min_members"}))
    d = LifecycleConfig()
    values = {key: s.number(key, getattr(d, key), strict=True) for key in _LIFECYCLE_NUMBERS}
    minimum = s.integer("increase_min_members", d.increase_min_members, minimum=1)
    config = LifecycleConfig(**values, increase_min_members=minimum)  # type: ignore[arg-type]
    if config.baseline_window_s <= config.trend_window_s:
        raise ConfigError(f"{s.where('baseline_window_s')}: must be longer than trend_window_s "
                          f"({config.trend_window_s:g}), got {config.baseline_window_s:g}")
    if config.resolve_max_s < config.resolve_min_s:
        raise ConfigError(f"{s.where('resolve_max_s')}: must be at least resolve_min_s "
                          f"({config.resolve_min_s:g}), got {config.resolve_max_s:g}")
    return config


def _endpoint(s: Section, local: bool = False) -> ModelEndpoint:
    s.reject_unknown(frozenset({"model", "base_url", "api_key_env", *(("local",) if local else ())}))
    model = s.opt_str("model")
    if not model and s.has("base_url"):
        raise ConfigError(f"{s.where('model')}: required when base_url is set")
    offline = s.opt_str("local") or LOCAL_WORDLLAMA
    if offline not in (LOCAL_WORDLLAMA, LOCAL_HASHING):
        raise ConfigError(f"{s.where('local')}: must be {LOCAL_WORDLLAMA} or {LOCAL_HASHING}, "
                          f"got {offline!r}")
    return ModelEndpoint(model=model, base_url=s.opt_str("base_url"),
                         api_key_env=s.opt_str("api_key_env") or ModelEndpoint.api_key_env, local=offline)


def _boolean(s: Section, key: str, default: bool) -> bool:
    value = s.data.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{s.where(key)}: must be true or false, got {value!r}")
    return value


def _names(s: Section, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = s.data.get(key)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{s.where(key)}: must be a list of example field names, got {value!r}")
    return tuple(value)
