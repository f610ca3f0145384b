"""GatewaySettings: listening address, secrets, CORS and WebSocket behaviour."""

from __future__ import annotations

import secrets

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator

from fo_gateway.ratelimit import parse_rate
from fo_runtime.settings import CommonSettings, strong_secret_key


class GatewaySettings(CommonSettings):
    host: str = Field("0.0.0.0", description="Interface to listen on.")
    port: int = Field(8000, ge=1, le=65535, description="HTTP port (Render sets PORT).")
    secret_key: SecretStr | None = Field(
        None, description="Signs access tokens; required when broker credentials are set."
    )
    angel_api_key: SecretStr | None = Field(
        None, description="Angel One API key; when absent the product runs in demo mode."
    )
    allowed_origins: str = Field(
        "http://localhost:5173,http://localhost:3000,http://127.0.0.1:5173",
        description="Comma-separated browser origins allowed for CORS and WebSockets.",
    )
    ws_send_timeout_s: float = Field(
        10.0, gt=0, le=120, description="A client that takes longer to accept a message is dropped."
    )
    ws_max_connections: int = Field(
        10_000, ge=1, le=1_000_000, description="WebSocket clients one process serves at most."
    )
    ws_max_connections_per_ip: int = Field(
        200, ge=0, le=1_000_000, description="WebSocket clients per remote address (0: no limit)."
    )
    rate_limit_api: str = Field(
        "300/minute", description="Requests per client address to /api (N/second|minute|hour)."
    )
    rate_limit_login: str = Field(
        "10/minute", description="Requests per client address to login routes (strict)."
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Proxies trusted for X-Forwarded-For ('*' behind Render's proxy).",
    )
    _secret_key_generated: bool = PrivateAttr(False)

    @property
    def demo_mode(self) -> bool:
        return self.angel_api_key is None

    @property
    def mode(self) -> str:
        """``demo`` (simulator, anonymous WebSockets) or ``live`` (broker credentials set)."""
        return "demo" if self.demo_mode else "live"

    @property
    def origin_list(self) -> list[str]:
        return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]

    _strong_secret = field_validator("secret_key")(strong_secret_key)

    @field_validator("rate_limit_api", "rate_limit_login")
    @classmethod
    def _rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _no_wildcard(cls, value: str) -> str:
        if "*" in value:
            raise ValueError("list the origins explicitly; '*' is refused")
        return value

    @model_validator(mode="after")
    def _secret_required_outside_demo(self) -> GatewaySettings:
        if self.secret_key is None:
            if not self.demo_mode:
                raise ValueError("SECRET_KEY is required when ANGEL_API_KEY is set")
            object.__setattr__(self, "secret_key", SecretStr(secrets.token_hex(32)))
            self._secret_key_generated = True
        return self

    @property
    def secret_key_generated(self) -> bool:
        """True when no SECRET_KEY was given and a random one was made for this demo process."""
        return self._secret_key_generated

    # --- user login through the ingestor (POST /api/auth/login) ---
    login_timeout_s: float = Field(
        10.0, gt=0, le=60, description="How long a login waits for the ingestor's reply."
    )
    access_token_ttl_s: int = Field(
        900, ge=60, le=86_400, description="Lifetime of the access tokens issued at login."
    )
    login_attempts_per_client: int = Field(
        5, ge=1, le=1000, description="Login attempts per client code per window."
    )
    login_attempts_window_s: int = Field(
        60, ge=1, le=3600, description="Window of the login attempt limits, in seconds."
    )
