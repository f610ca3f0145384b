"""Angel One SmartAPI: broker session, instrument master, WebSocket V2 feed and control handler.

Nothing here imports ``smartapi-python`` at import time: the SDK is loaded (and contained) by
``fo_ingestor.angel.sdk`` only when the Angel feed actually logs in.
"""
