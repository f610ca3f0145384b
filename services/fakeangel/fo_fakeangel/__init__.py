"""A local fake of Angel One SmartAPI for tests and development: REST login, scrip master and
the WebSocket V2 binary feed, byte for byte as the spec describes, with fault switches."""
