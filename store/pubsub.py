"""Pub/sub over LISTEN/NOTIFY: ``publish`` inside transactions, ``PubSub`` with reconnect."""

from store._pubsub import *  # noqa: F403  # the implementation module's __all__ is the API
from store._pubsub import __all__ as __all__
