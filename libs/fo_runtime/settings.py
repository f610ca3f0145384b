"""Settings shared by every service, and loading that fails with the variable's name."""

from __future__ import annotations

import os
import socket
from typing import TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fo_bus.names import DEFAULT_NAMESPACE, BusNames
from fo_instruments.catalogue import INDICES

S = TypeVar("S", bound=BaseSettings)
PLACEHOLDER_SECRETS = frozenset({"changeme", "changethis", "secret", "your-secret-key", "dev"})


def strong_secret_key(value: SecretStr | None) -> SecretStr | None:
    """SECRET_KEY's rule in every service: not a placeholder, at least 32 characters."""
    if value is None:
        return None
    raw = value.get_secret_value()
    if raw.lower() in PLACEHOLDER_SECRETS:
        raise ValueError("is a placeholder; generate one with `openssl rand -hex 32`")
    if len(raw) < 32:
        raise ValueError("must be at least 32 characters (`openssl rand -hex 32`)")
    return value


class SettingsError(SystemExit):
    """Start-up refused because a setting is missing or wrong; the message names the variable."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class CommonSettings(BaseSettings):
    """Read from the environment (and ``.env``); variable names are the field names in capitals."""

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", env_ignore_empty=True, env_file=".env"
    )

    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis the bus lives on.")
    fo_namespace: str = Field(DEFAULT_NAMESPACE, description="Prefix of every Redis name.")
    symbols: str = Field(
        "NIFTY,BANKNIFTY", description="Comma-separated underlyings to follow and serve."
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")
    instance_id: str = Field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}",
        description="Name of this process in heartbeats and leases.",
    )

    @field_validator("symbols")
    @classmethod
    def _known_symbols(cls, value: str) -> str:
        names = [s.strip().upper() for s in value.split(",") if s.strip()]
        if not names:
            raise ValueError("give at least one symbol")
        unknown = [s for s in names if s not in INDICES]
        if unknown:
            raise ValueError(f"unknown symbol(s) {', '.join(unknown)}; known: {', '.join(INDICES)}")
        return ",".join(dict.fromkeys(names))

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    @property
    def symbol_list(self) -> list[str]:
        return self.symbols.split(",")

    @property
    def names(self) -> BusNames:
        return BusNames(self.fo_namespace)


def load_settings(cls: type[S]) -> S:
    """Build settings from the environment, or raise SettingsError naming each bad variable.

    Values are never echoed: a secret given in the wrong place must not reach a log.
    """
    try:
        return cls()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{str(err['loc'][0]).upper()}: {message}" if err["loc"] else message)
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
