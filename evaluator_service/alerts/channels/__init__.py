"""Notification channels: webhook (HMAC-signed), Slack, PagerDuty, Opsgenie and e-mail, with retries and
per-target circuit breakers.

::

    from evaluator_service.alerts.channels import ChannelDelivery, build_channels, http_client

    client = http_client()                                   # in the event loop; await client.close() at exit
    channels = build_channels(config.channels, client)       # config name → Channel
    delivery = ChannelDelivery(meter=meter)                  # one per engine: retries, circuit breakers
    delivered = await delivery.deliver(notification, channels["pager"], record_attempt)

The engine owns durability: a ``False`` from :meth:`ChannelDelivery.deliver` means "keep it and ask again
later". See ``evaluator_service/README.md``, section Notification channels, for every payload.
"""

from evaluator_service.alerts.channels.build import build_channel, build_channels, http_client
from evaluator_service.alerts.channels.config import CHANNEL_TYPES, ChannelConfig, parse_channels
from evaluator_service.alerts.channels.delivery import ChannelDelivery, Recorder
from evaluator_service.alerts.channels.policy import DeliveryPolicy

__all__ = [
    "CHANNEL_TYPES",
    "ChannelConfig",
    "ChannelDelivery",
    "DeliveryPolicy",
    "Recorder",
    "build_channel",
    "build_channels",
    "http_client",
    "parse_channels",
]
