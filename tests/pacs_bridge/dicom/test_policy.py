"""The listener's admission policies: known PACS at their own address, and only the
instances an active import asks for, from snapshots that are re-read before a refusal."""

from __future__ import annotations

import threading
import time

import pytest

from pacs_bridge.dicom.policy import (
    ActiveJobs,
    KnownPeers,
    Refreshing,
    WantedInstances,
    normalise_address,
    resolve_host,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Loads:
    """A loader that counts its calls and returns whatever ``value`` is now."""

    def __init__(self, value: object) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        return self.value


def test_a_snapshot_is_reused_within_its_ttl_and_reloaded_after() -> None:
    clock, load = Clock(), Loads("a")
    snapshot = Refreshing(load, ttl=1.0, clock=clock)
    assert snapshot.get() == "a" and snapshot.get() == "a"
    assert load.calls == 1
    load.value = "b"
    clock.now += 0.5
    assert snapshot.get() == "a"
    clock.now += 0.6
    assert snapshot.get() == "b" and load.calls == 2


def test_a_caller_that_needs_a_newer_snapshot_gets_one_loaded_after_its_miss() -> None:
    clock, load = Clock(), Loads("a")
    snapshot = Refreshing(load, ttl=60, clock=clock)
    snapshot.get()
    clock.now += 0.01
    missed_at = clock.now
    load.value = "b"
    assert snapshot.get(newer_than=missed_at) == "b"
    assert snapshot.get(newer_than=missed_at) == "b" and load.calls == 2  # reused


def test_a_failed_load_keeps_the_previous_snapshot_and_tells_the_caller() -> None:
    clock = Clock()
    values: list[object] = ["a", RuntimeError("database down")]

    def load() -> object:
        value = values.pop(0)
        if isinstance(value, Exception):
            raise value
        return value

    snapshot = Refreshing(load, ttl=1.0, clock=clock)
    assert snapshot.get() == "a"
    with pytest.raises(RuntimeError):
        snapshot.get(newer_than=clock.now + 0.001)
    assert snapshot.get() == "a"


def test_misses_at_the_same_moment_share_one_load() -> None:
    started = threading.Event()
    calls: list[int] = []

    def slow_load() -> int:
        calls.append(1)
        started.set()
        time.sleep(0.1)
        return len(calls)

    snapshot = Refreshing(slow_load, ttl=60)
    missed_at = snapshot.now()
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(snapshot.get(newer_than=missed_at)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1] * 8 and len(calls) == 1


# -- peers --------------------------------------------------------------------------------
def test_a_peer_is_known_by_its_ae_title_and_its_nodes_address() -> None:
    peers = KnownPeers(lambda: [("ORTHANC", "127.0.0.1"), ("DCMQR", "10.1.2.3")])
    assert peers("ORTHANC", "127.0.0.1")
    assert peers("ORTHANC  ", "::ffff:127.0.0.1")  # padded title, IPv4-mapped address
    assert not peers("ORTHANC", "10.1.2.3")  # another node's address
    assert not peers("orthanc", "127.0.0.1")  # AE titles are compared as sent
    assert not peers("INTRUDER", "127.0.0.1")


def test_a_node_host_name_is_resolved_to_its_addresses() -> None:
    resolved: list[str] = []

    def resolve(host: str) -> frozenset[str]:
        resolved.append(host)
        return frozenset({"192.0.2.7", "2001:db8::7"})

    peers = KnownPeers(lambda: [("PACS", "pacs.example.org")], resolve=resolve)
    assert peers("PACS", "192.0.2.7") and peers("PACS", "2001:db8::7")
    assert not peers("PACS", "192.0.2.8")
    assert resolved.count("pacs.example.org") == 2  # once, then again before the refusal


def test_a_node_added_a_moment_ago_is_known_at_once() -> None:
    nodes: list[tuple[str, str]] = []
    peers = KnownPeers(lambda: list(nodes), ttl=60)
    assert not peers("NEW", "127.0.0.1")
    nodes.append(("NEW", "127.0.0.1"))
    assert peers("NEW", "127.0.0.1")


def test_addresses_are_compared_in_one_spelling() -> None:
    assert normalise_address("::ffff:10.0.0.1") == "10.0.0.1"
    assert normalise_address("0:0:0:0:0:0:0:1") == "::1"
    assert resolve_host("127.0.0.1") == frozenset({"127.0.0.1"})
    assert "127.0.0.1" in resolve_host("localhost")
    assert resolve_host("no-such-host.invalid") == frozenset()


# -- instances ----------------------------------------------------------------------------
def test_an_instance_is_wanted_only_by_an_import_from_the_pacs_that_sends_it() -> None:
    jobs = ActiveJobs(lambda: [WantedInstances("ORTHANC", "1.1")])
    assert jobs("ORTHANC", "1.1", "1.1.1", "1.1.1.1")  # whole study: any series
    assert not jobs("DCMQR", "1.1", "1.1.1", "1.1.1.1")  # same study, another PACS
    assert not jobs("ORTHANC", "1.2", "1.2.1", "1.2.1.1")  # another study
    assert not jobs("ORTHANC", None, "1.1.1", "1.1.1.1")  # study unreadable


def test_an_import_of_some_series_wants_only_those() -> None:
    jobs = ActiveJobs(lambda: [WantedInstances("PACS", "1.1", frozenset({"1.1.1", "1.1.2"}))])
    assert jobs("PACS", "1.1", "1.1.2", "9.9")
    assert not jobs("PACS", "1.1", "1.1.3", "9.9")
    assert not jobs("PACS", "1.1", None, "9.9")


def test_an_import_of_missing_instances_wants_only_those() -> None:
    wanted = WantedInstances("PACS", "1.1", frozenset({"1.1.1"}), frozenset({"1.1.1.5"}))
    jobs = ActiveJobs(lambda: [wanted])
    assert jobs("PACS", "1.1", "1.1.1", "1.1.1.5")
    assert not jobs("PACS", "1.1", "1.1.1", "1.1.1.6")


def test_two_imports_of_one_study_are_both_served() -> None:
    jobs = ActiveJobs(
        lambda: [
            WantedInstances("PACS", "1.1", frozenset({"1.1.1"})),
            WantedInstances("PACS", "1.1", frozenset({"1.1.2"})),
        ]
    )
    assert jobs("PACS", "1.1", "1.1.1", "x") and jobs("PACS", "1.1", "1.1.2", "y")


def test_the_first_instance_of_an_import_that_just_started_is_not_lost() -> None:
    clock = Clock()
    active: list[WantedInstances] = []
    load = Loads(None)
    load.value = active
    jobs = ActiveJobs(load, ttl=1.0, clock=clock)  # type: ignore[arg-type]
    assert not jobs("PACS", "1.1", "1.1.1", "x")  # nothing active yet
    active.append(WantedInstances("PACS", "1.1"))  # the import starts within the TTL
    clock.now += 0.001
    assert jobs("PACS", "1.1", "1.1.1", "x")


def test_wanted_instances_cost_no_query_within_the_ttl() -> None:
    clock = Clock()
    load = Loads([WantedInstances("PACS", "1.1")])
    jobs = ActiveJobs(load, ttl=1.0, clock=clock)  # type: ignore[arg-type]
    for i in range(500):
        assert jobs("PACS", "1.1", "1.1.1", str(i))
        clock.now += 0.001
    assert load.calls == 1
