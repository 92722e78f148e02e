"""Alerts an on-call engineer can trust: a state machine per alert, durable notifications, silences and a
history in the state database shared by replicas.

::

    from evaluator_service.alerts.manager import AlertManager
    from evaluator_service.admin.alerts_servicer import alerts_installer

    manager = AlertManager(config.alerts, channels=channels)   # EvaluatorApp creates one unless given
    app = EvaluatorApp(config, alerts=manager,
                       service_installers=[alerts_installer(manager, config.api_key)])

Modules, lowest first: ``conditions`` (one object per condition kind), ``filters``, ``config``,
``events`` (a score event), ``counting`` (per-replica bucket counts), ``payload`` (the notification of a
transition), ``transitions`` (the pure state machine), ``outbox_worker`` (durable delivery),
``behavior_alerts``, ``alert_records`` (what the admin API reads: views, history, silences),
``manager`` (the engine). Only the config types are exported here: :mod:`evaluator_service.config`
imports them. See ``evaluator_service/README.md`` (section Alerts).
"""

from evaluator_service.alerts.config import AlertConfig, NoDataPolicy, parse_alerts

__all__ = ["AlertConfig", "NoDataPolicy", "parse_alerts"]
