"""Alerts: notify (log line, webhook) the moment scores breach a threshold; state shared by replicas.

::

    from evaluator_service.alerts.manager import AlertManager
    from evaluator_service.admin.alerts_servicer import alerts_installer

    manager = AlertManager(config.alerts)      # EvaluatorApp creates one unless given ``alerts=``
    app = EvaluatorApp(config, alerts=manager,
                       service_installers=[alerts_installer(manager, config.api_key)])

Only the config types are exported here: :mod:`evaluator_service.config` imports them, and the manager
imports the scoring side, which imports the config. What each condition kind means (parsing, which events
count, breach, resolution) lives in :mod:`evaluator_service.alerts.conditions`, one object per kind.
See ``evaluator_service/README.md`` (section Alerts) for the YAML schema and the webhook payload.
"""

from evaluator_service.alerts.conditions import Condition
from evaluator_service.alerts.config import AlertConfig, WebhookConfig, parse_alerts

__all__ = ["AlertConfig", "Condition", "WebhookConfig", "parse_alerts"]
