"""``fo-fake-angel``: run a local fake Angel One, or flip a fault switch on a running one.

fo-fake-angel serve --http-port 9100 --ws-port 9101      # prints the env to point at it
fo-fake-angel fault stall --url http://127.0.0.1:9100    # stall, resume, close,
    reject_handshake (--status 401|429), ping_loss (--count 1|0), out_of_order, malformed,
    expire_tokens, rate_limit_login, waf, login_error
fo-fake-angel state --url http://127.0.0.1:9100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import urllib.request

import pyotp


def _serve(args: argparse.Namespace) -> int:
    from fo_fakeangel.server import FakeServer
    from fo_fakeangel.state import FakeConfig

    secret = args.totp_secret or os.environ.get("FAKE_ANGEL_TOTP_SECRET") or pyotp.random_base32()
    config = FakeConfig(
        api_key=args.api_key,
        client_code=args.client_code.upper(),
        mpin=args.mpin,
        totp_secret=secret,
        symbols=tuple(s.strip().upper() for s in args.symbols.split(",")),
        seed=args.seed,
        expiries=args.expiries,
        strikes_each_side=args.strikes,
        tick_interval_s=args.tick_interval,
        token_ttl_s=args.token_ttl,
        over_limit=args.over_limit,
        on_expiry=args.on_expiry,
    )
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s fake-angel %(levelname)s %(message)s",
    )

    async def main() -> None:
        server = await FakeServer(config, args.host, args.http_port, args.ws_port).start()
        print(
            json.dumps(
                {
                    "ready": True,
                    "rest_url": server.rest_url,
                    "ws_url": server.ws_url,
                    "master_url": server.master_url,
                    "env": {
                        "FEED": "angel",
                        "ANGEL_API_KEY": config.api_key,
                        "ANGEL_REST_URL": server.rest_url,
                        "ANGEL_WS_URL": server.ws_url,
                        "ANGEL_MASTER_URL": server.master_url,
                    },
                    "login": {
                        "client_code": config.client_code,
                        "mpin": config.mpin,
                        "totp_secret": config.totp_secret,
                    },
                }
            ),
            flush=True,
        )
        await server.run_forever()

    asyncio.run(main())
    return 0


def _call(url: str, method: str = "GET") -> object:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fo-fake-angel",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the fake (REST + WebSocket V2)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--http-port", type=int, default=9100)
    serve.add_argument("--ws-port", type=int, default=9101)
    serve.add_argument("--api-key", default=os.environ.get("ANGEL_API_KEY", "fake-api-key"))
    serve.add_argument("--client-code", default="FAKE001")
    serve.add_argument("--mpin", default="4321")
    serve.add_argument("--totp-secret", default=None, help="base32 (≥ 23 chars); random if absent")
    serve.add_argument("--symbols", default="NIFTY,BANKNIFTY")
    serve.add_argument("--seed", type=int, default=7)
    serve.add_argument("--expiries", type=int, default=3)
    serve.add_argument("--strikes", type=int, default=30, help="strikes each side of ATM")
    serve.add_argument("--tick-interval", type=float, default=0.25)
    serve.add_argument("--token-ttl", type=int, default=86_400, help="seconds tokens live")
    serve.add_argument("--over-limit", choices=("reject", "close"), default="reject")
    serve.add_argument("--on-expiry", choices=("mute", "close"), default="mute")
    serve.add_argument("--log-level", default="WARNING")
    fault = sub.add_parser("fault", help="flip a fault switch on a running fake")
    fault.add_argument("name")
    fault.add_argument("--url", default="http://127.0.0.1:9100")
    fault.add_argument("--count", type=int, default=1)
    fault.add_argument("--status", type=int, default=401)
    fault.add_argument("--code", type=int, default=1006, help="close code: 1006 abrupt or 1000")
    state = sub.add_parser("state", help="print a running fake's counters and faults")
    state.add_argument("--url", default="http://127.0.0.1:9100")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "fault":
        query = f"count={args.count}&status={args.status}&code={args.code}"
        print(json.dumps(_call(f"{args.url}/__fake__/fault/{args.name}?{query}", "POST")))
        return 0
    print(json.dumps(_call(f"{args.url}/__fake__/state"), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
