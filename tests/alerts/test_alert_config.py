"""The ``alerts:`` section: defaults, filters, channels, behavior kinds, and errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from evaluator_service.alerts.config import AlertingConfig, NoDataPolicy, parse_alerting, parse_alerts
from evaluator_service.alerts.manager import AlertManager
from evaluator_service.behaviors.events import BehaviorEventKind
from evaluator_service.config_values import ConfigError, Section


def one(entry: dict[str, Any], channels: tuple[str, ...] = ("hook",)) -> Any:
    return parse_alerts([Section(entry, "alerts[0]")], channels)[0]


def test_defaults_and_every_setting() -> None:
    plain = one({"name": "a", "scorer": "tone", "score_below": 0.5})
    assert (plain.for_s, plain.renotify_s, plain.recovery, plain.no_data, plain.notify, plain.enabled) == (
        0.0, 0.0, True, NoDataPolicy.NO_DATA, (), True)
    full = one({"name": "b", "scorer": "*", "failure_rate_above": 0.2, "window": "5m", "for": "2m",
                "renotify": "1h", "recovery": False, "no_data": "keep", "notify": ["hook"],
                "service": "bot", "agent": "refunds", "environment": "production",
                "where": {"gen_ai.request.model": "gpt-4o"}, "description": "why", "enabled": False})
    assert (full.for_s, full.renotify_s, full.recovery, full.no_data, full.notify, full.enabled) == (
        120.0, 3600.0, False, NoDataPolicy.KEEP, ("hook",), False)
    assert full.filter.where == {"gen_ai.request.model": "gpt-4o", "service.name": "bot",
                                 "gen_ai.agent.name": "refunds", "deployment.environment.name": "production"}
    assert full.filter.matches_score("anything", {**full.filter.where, "other": 1})
    assert not full.filter.matches_score("anything", {**full.filter.where, "service.name": "billing"})


def test_behavior_alerts_default_to_the_worrying_kinds() -> None:
    alert = one({"name": "b", "behavior": ["created", "behavior.regressed"]})
    assert alert.condition is None and alert.scorer == "*"
    assert alert.behavior_kinds == (BehaviorEventKind.CREATED, BehaviorEventKind.REGRESSED)
    assert "behavior events: behavior.created" in alert.describe()
    assert one({"name": "c", "behavior": []}).behavior_kinds == (
        BehaviorEventKind.CREATED, BehaviorEventKind.REGRESSED, BehaviorEventKind.INCREASING)


@pytest.mark.parametrize(("entry", "message"), [
    ({"scorer": "t", "score_below": 0.5}, r"alerts\[0\]\.name: required"),
    ({"name": "a", "score_below": 0.5}, r"alerts\[0\]\.scorer: required"),
    ({"name": "a", "scorer": "t", "score_below": 0.5, "notify": ["pager"]}, r"unknown channel 'pager'"),
    ({"name": "a", "scorer": "t", "score_below": 0.5, "notify": "hook"}, r"must be a list of channel names"),
    ({"name": "a", "scorer": "t", "score_below": 0.5, "no_data": "maybe"}, r"no_data: one of no_data, ok"),
    ({"name": "a", "scorer": "t", "score_below": 0.5, "recovery": "yes"}, r"recovery: must be true or false"),
    ({"name": "a", "scorer": "t", "score_below": 0.5, "service": "x", "where": {"service.name": "y"}},
     r"service: conflicts with where\.service\.name='y'"),
    ({"name": "a", "behavior": ["exploded"]}, r"unknown behavior event 'exploded'"),
    ({"name": "a", "scorer": "t", "score_below": 0.5, "link_template": "{trace}"},
     r"link_template: may use only"),
    ({"name": "a", "scorer": "t", "score_below": 0.5, "bogus": 1}, r"alerts\[0\]\.bogus: unknown key"),
    ({"name": "a", "scorer": "t", "score_below": 0.5, "issue_link_template": "/behaviors/{behavior_id}"},
     r"issue_link_template: may use only \{scorer\} with score alerts .*behavior_link_template"),
    ({"name": "a", "behavior": "created", "behavior_link_template": "/issues/{behavior_id}"},
     r"behavior_link_template: only for score alerts; a behavior alert links its behavior with "
     r"issue_link_template"),
    ({"name": "a", "scorer": "t", "score_below": 0.5, "behavior_link_template": "/issues/{id}"},
     r"behavior_link_template: may use only \{behavior_id\}"),
    ({"name": "a", "behavior": "created", "issue_link_template": "{id}"}, r"may use only \{behavior_id\}"),
])
def test_mistakes_name_the_field(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        one(entry)


def test_a_score_alerts_issue_link_names_its_scorer() -> None:
    template = {"issue_link_template": "http://console:8080/issues?scorer={scorer}"}
    named = one({"name": "a", "scorer": "tone check", "score_below": 0.5, **template})
    every = one({"name": "b", "scorer": "*", "errors_above": 3, "window": "5m", **template})
    behavior = one({"name": "c", "behavior": "created", "issue_link_template": "/behaviors/{behavior_id}"})
    assert named.scorer_issues_link() == "http://console:8080/issues?scorer=tone%20check"
    assert every.scorer_issues_link() == "http://console:8080/issues?scorer="  # every scorer's issues
    assert behavior.scorer_issues_link() is None  # a behavior alert links its own behavior


def test_a_score_alerts_behavior_link_names_the_behavior() -> None:
    alert = one({"name": "a", "scorer": "t", "score_below": 0.5,
                 "behavior_link_template": "http://console:8080/issues/{behavior_id}"})
    assert alert.behavior_issue_link("bhv_0123abcd") == "http://console:8080/issues/bhv_0123abcd"
    assert one({"name": "b", "scorer": "t", "score_below": 0.5}).behavior_issue_link("bhv_1") is None


def test_names_are_unique() -> None:
    entry = {"name": "a", "scorer": "t", "score_below": 0.5}
    with pytest.raises(ConfigError, match=r"alerts\[1\]\.name: duplicate alert name 'a'"):
        parse_alerts([Section(entry, "alerts[0]"), Section(entry, "alerts[1]")], ())


def test_the_alerting_section_sets_the_engines_timings() -> None:
    assert parse_alerting(Section({}, "alerting")) == AlertingConfig()
    settings = parse_alerting(Section({"tick": "5s", "retention": "168h",
                                       "retry": {"initial": "1s", "max": "1m", "give_up_after": "2h"},
                                       "behavior_max_age": "10m"}, "alerting"))
    assert settings == AlertingConfig(5.0, 168 * 3600.0, 1.0, 60.0, 7200.0, 600.0)
    manager = AlertManager((), settings=settings)
    assert manager.tick_s == 5.0 and manager.retention_s == 168 * 3600.0
    with pytest.raises(ConfigError, match=r"alerting\.tick: must be longer than 0"):
        parse_alerting(Section({"tick": 0}, "alerting"))
    with pytest.raises(ConfigError, match=r"alerting\.retry\.max: must be at least retry\.initial"):
        parse_alerting(Section({"retry": {"initial": "1m", "max": "1s"}}, "alerting"))
    with pytest.raises(ConfigError, match=r"alerting\.every: unknown key"):
        parse_alerting(Section({"every": "1s"}, "alerting"))
