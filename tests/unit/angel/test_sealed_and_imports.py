"""The sealed control format (fo_bus.sealed), settings checks, and lazy SDK loading."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fo_bus import sealed as ing
from fo_runtime.settings import SettingsError, load_settings

KEY = "k" * 40


def test_a_sealed_message_opens_with_the_same_secret_key_only() -> None:
    sender, receiver = ing.derive_key(KEY), ing.derive_key(KEY)
    assert len(sender) == 32 and sender == receiver  # AES-256 from the shared SECRET_KEY
    blob = ing.seal(sender, b'{"password":"2468"}', ing.request_context("abc"))
    assert b"2468" not in blob
    assert ing.unseal(receiver, blob, ing.request_context("abc")) == b'{"password":"2468"}'
    reply = ing.seal(receiver, b'{"ok":true}', ing.reply_context("abc"))
    assert ing.unseal(sender, reply, ing.reply_context("abc")) == b'{"ok":true}'


def test_tampered_foreign_or_replayed_messages_do_not_open() -> None:
    key = ing.derive_key(KEY)
    blob = ing.seal(key, b"secret", ing.request_context("a"))
    with pytest.raises(ing.SealError):
        ing.unseal(ing.derive_key("x" * 40), blob, ing.request_context("a"))
    with pytest.raises(ing.SealError):
        ing.unseal(key, blob, ing.request_context("b"))  # another request
    with pytest.raises(ing.SealError):
        ing.unseal(key, blob, ing.reply_context("a"))  # a request replayed as a reply
    with pytest.raises(ing.SealError):
        ing.unseal(key, blob[:-1] + bytes([blob[-1] ^ 1]), ing.request_context("a"))


def test_angel_settings_name_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from fo_ingestor.settings import IngestorSettings

    monkeypatch.setenv("FEED", "angel")
    with pytest.raises(SettingsError, match="ANGEL_API_KEY"):
        load_settings(IngestorSettings)
    monkeypatch.setenv("ANGEL_API_KEY", "key")
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(IngestorSettings)
    monkeypatch.setenv("ANGEL_CLIENT_CODE", "C1")
    with pytest.raises(SettingsError, match="ANGEL_MPIN, ANGEL_TOTP_SECRET"):
        load_settings(IngestorSettings)
    monkeypatch.setenv("ANGEL_MPIN", "1234")
    monkeypatch.setenv("ANGEL_TOTP_SECRET", "tooshort")
    with pytest.raises(SettingsError, match="ANGEL_TOTP_SECRET") as info:
        load_settings(IngestorSettings)
    assert "tooshort" not in str(info.value) and "1234" not in str(info.value)
    monkeypatch.setenv("ANGEL_TOTP_SECRET", "JBSWY3DPEHPK3PXPJBSWY3DPEH")
    assert load_settings(IngestorSettings).angel_client_code == "C1"


def test_smartapi_is_not_imported_unless_feed_is_angel() -> None:
    code = (
        "import sys\n"
        "from fo_ingestor.settings import IngestorSettings\n"
        "from fo_ingestor.feeds import make_feed\n"
        "import fo_ingestor.service, fo_gateway.app\n"
        "make_feed(IngestorSettings(feed='simulator'))\n"
        "loaded = ('SmartApi', 'logzero', 'websocket')\n"
        "assert not [m for m in sys.modules if m.startswith(loaded)]\n"
        "feed = make_feed(IngestorSettings(feed='angel', angel_api_key='k', secret_key='s' * 32))\n"
        "assert feed.name == 'angel'\n"
        "assert 'SmartApi' not in sys.modules  # loaded at the first broker call, not before\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("FEED", "ANGEL"))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
