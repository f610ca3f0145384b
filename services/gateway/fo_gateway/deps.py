"""Typed dependency aliases for route signatures."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from fo_gateway.settings import GatewaySettings
from fo_gateway.snapshots import SnapshotReader


def _reader(request: Request) -> SnapshotReader:
    return request.app.state.reader


def _settings(request: Request) -> GatewaySettings:
    return request.app.state.settings


ReaderDep = Annotated[SnapshotReader, Depends(_reader)]
SettingsDep = Annotated[GatewaySettings, Depends(_settings)]
