"""Every Redis name is pinned: renaming one is a deliberate, visible change."""

from datetime import date

from fo_bus.names import BusNames

EXPIRY = date(2026, 12, 8)


def test_names_are_pinned_and_hash_tagged() -> None:
    names = BusNames()
    assert names.ticks_stream("NIFTY") == "fo:{NIFTY}:ticks"
    assert names.instruments_key("NIFTY") == "fo:{NIFTY}:instruments"
    assert names.summary_key("NIFTY") == "fo:{NIFTY}:summary"
    assert names.snapshot_key("NIFTY", EXPIRY) == "fo:{NIFTY}:snapshot:2026-12-08"
    assert names.updates_channel("NIFTY", EXPIRY) == "fo:{NIFTY}:updates:2026-12-08"
    assert names.history_stream("NIFTY") == "fo:{NIFTY}:history"
    assert names.lease_key("NIFTY") == "fo:{NIFTY}:lease"
    assert names.epoch_key("NIFTY") == "fo:{NIFTY}:epoch"
    assert names.health_key("worker", "w1") == "fo:health:worker:w1"
    assert names.control_stream() == "fo:control"
    assert names.control_reply_key("r1") == "fo:control:reply:r1"
    assert names.session_key("A1") == "fo:session:A1"
    assert names.login_attempts_key("A123") == "fo:login-attempts:client:A123"
    assert names.ratelimit_key("api", "1.2.3.4", 7) == "fo:ratelimit:api:1.2.3.4:7"


def test_namespace_prefixes_every_name() -> None:
    names = BusNames("qa")
    built = [
        names.ticks_stream("BANKNIFTY"),
        names.snapshot_key("BANKNIFTY", EXPIRY),
        names.lease_key("BANKNIFTY"),
        names.health_key("gateway", "g"),
    ]
    assert all(n.startswith("qa:") for n in built)


def test_one_symbols_keys_share_a_cluster_slot() -> None:
    names = BusNames()
    keys = [
        names.ticks_stream("SENSEX"),
        names.summary_key("SENSEX"),
        names.snapshot_key("SENSEX", EXPIRY),
        names.lease_key("SENSEX"),
        names.epoch_key("SENSEX"),
        names.history_stream("SENSEX"),
    ]
    # Redis Cluster hashes only the text inside the first {...}.
    assert {k[k.index("{") + 1 : k.index("}")] for k in keys} == {"SENSEX"}
