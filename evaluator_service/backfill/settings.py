"""The ``backfill:`` config section: where the trace backend is, how to read it, how to estimate judge calls.

::

    backfill:
      jaeger_url: http://jaeger:16686   # Jaeger's query API; `judgeval backfill --jaeger URL` overrides it
      allowed_jaeger_urls: []           # other Jaegers `--jaeger URL` may name (jaeger_url always may)
      timeout_s: 10                     # one HTTP request to Jaeger
      page_limit: 200                   # traces per Jaeger query; fuller time windows are split
      max_spans: 10000                  # spans one run scores at most (a run over more is refused)
      concurrency: 4                    # spans scored at once (the scoring limits still apply)
      lease_s: 600                      # a claimed span whose run died may be taken over after this
      uploaded_judge_calls_per_span: 1  # judge calls assumed per span for uploaded scorers
      output_tokens_per_call: 200       # the answer's length assumed per judge call in the estimate

Judge calls are priced at ``judge.prices`` (the same prices the console's judge cost uses); a model
without one has an unknown cost, never a guessed one.

``--jaeger URL`` makes the evaluator send HTTP requests, so an admin-key holder could otherwise point it at
any host it reaches (an internal service, a cloud metadata address): only ``jaeger_url`` and the URLs of
``allowed_jaeger_urls`` are accepted, compared by scheme, host, port and path (:func:`jaeger_url_allowed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from evaluator_service.config_values import ConfigError, Section

SECTION_KEYS = frozenset({"jaeger_url", "allowed_jaeger_urls", "timeout_s", "page_limit", "max_spans",
                          "concurrency", "lease_s", "uploaded_judge_calls_per_span",
                          "output_tokens_per_call"})


@dataclass(frozen=True)
class BackfillConfig:
    """How backfills read the trace backend and estimate judge calls (YAML ``backfill:``)."""

    jaeger_url: str | None = None
    allowed_jaeger_urls: tuple[str, ...] = ()
    timeout_s: float = 10.0
    page_limit: int = 200
    max_spans: int = 10_000
    concurrency: int = 4
    lease_s: float = 600.0
    uploaded_judge_calls_per_span: int = 1
    output_tokens_per_call: int = 200


def jaeger_url_allowed(url: str, config: BackfillConfig) -> bool:
    """Whether a backfill may read Jaeger at ``url``: it is ``jaeger_url`` or one of ``allowed_jaeger_urls``
    (same scheme, host, port and path; a trailing slash and the letter case of scheme and host aside)."""
    wanted = _url_identity(url)
    allowed = [config.jaeger_url, *config.allowed_jaeger_urls]
    return wanted is not None and any(_url_identity(a) == wanted for a in allowed if a)


def _url_identity(url: str) -> tuple[str, str, int, str, str, str] | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        return None
    # The user part stays in: http://jaeger:16686@other/ names host "other", which must not match jaeger.
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port, parts.path.rstrip("/"),
            parts.query, parts.username or "")


def parse_backfill(s: Section) -> BackfillConfig:
    s.reject_unknown(SECTION_KEYS)
    url = s.opt_str("jaeger_url")
    if url is not None and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{s.where('jaeger_url')}: must start with http:// or https://, got {url!r}")
    return BackfillConfig(
        jaeger_url=url,
        allowed_jaeger_urls=_allowed_urls(s),
        timeout_s=s.number("timeout_s", 10.0, strict=True),
        page_limit=s.integer("page_limit", 200, minimum=2),
        max_spans=s.integer("max_spans", 10_000, minimum=1),
        concurrency=s.integer("concurrency", 4, minimum=1),
        lease_s=s.number("lease_s", 600.0, strict=True),
        uploaded_judge_calls_per_span=s.integer("uploaded_judge_calls_per_span", 1),
        output_tokens_per_call=s.integer("output_tokens_per_call", 200),
    )


def _allowed_urls(s: Section) -> tuple[str, ...]:
    value = s.data.get("allowed_jaeger_urls")
    if value is None:
        return ()
    where = s.where("allowed_jaeger_urls")
    if not isinstance(value, list):
        raise ConfigError(f"{where}: must be a list of http:// or https:// URLs")
    for index, url in enumerate(value):
        if not (isinstance(url, str) and url.startswith(("http://", "https://")) and _url_identity(url)):
            raise ConfigError(f"{where}[{index}]: must be an http:// or https:// URL, got {url!r}")
    return tuple(value)
