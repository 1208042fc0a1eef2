"""Pub/sub over LISTEN/NOTIFY: ``publish`` inside transactions, ``PubSub`` with reconnect."""

from store._pubsub import (
    MAX_PAYLOAD_BYTES,
    PUBLISH,
    Callback,
    Dropped,
    DropReason,
    Event,
    InvalidChannel,
    Message,
    PayloadTooLarge,
    PubSub,
    PubSubClosed,
    Subscription,
    publish,
    validate_channel,
)

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "PUBLISH",
    "Callback",
    "DropReason",
    "Dropped",
    "Event",
    "InvalidChannel",
    "Message",
    "PayloadTooLarge",
    "PubSub",
    "PubSubClosed",
    "Subscription",
    "publish",
    "validate_channel",
]
