"""Who may associate with our listener and which instances it keeps: pure policies.

The listener asks two questions, both answered by callables passed in (the
``dicom_listener`` command builds them from the database in ``pacs_bridge.admission``):

- at association (A-ASSOCIATE-RQ, PS3.8 7.1.1): is the calling AE title a PACS we know,
  connecting from that PACS's address? (``KnownPeers``) Otherwise the association is
  rejected, permanent, "calling AE title not recognized" (PS3.8 9.3.4, Table 9-21).
- at each C-STORE (PS3.4 B.2.2): does an import that is retrieving from that PACS ask
  for this instance's study, series and instance? (``ActiveJobs``) Otherwise the
  instance is refused and never reaches the spool.

Both read a snapshot that is re-loaded at most every ``ttl`` seconds (``Refreshing``),
and once more before saying no: a job that started a moment ago must not lose its
first instances. No Django here.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

#: PS3.7 Annex C.5 general status "Refused: Not Authorized" (0124H): the instance is
#: not one that an import asked for.
NOT_AUTHORIZED = 0x0124


class Refreshing(Generic[T]):
    """A value from ``load()``, re-loaded when older than ``ttl`` seconds, or when a
    caller needs one loaded after a given moment (``get(newer_than=...)``).

    One load at a time: callers that need a fresh value while another thread loads
    wait for it and share it, so a burst of misses costs one query, not one each. A load
    that raises leaves the previous value in place and the error to the caller.
    """

    def __init__(
        self, load: Callable[[], T], ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._state: tuple[T, float] | None = None  # (value, when its load started)

    def _fresh(self, state: tuple[T, float] | None, newer_than: float | None) -> bool:
        if state is None:
            return False
        started = state[1]
        if newer_than is not None and started < newer_than:
            return False
        return self._clock() - started < self._ttl

    def get(self, *, newer_than: float | None = None) -> T:
        state = self._state
        if state is not None and self._fresh(state, newer_than):
            return state[0]
        with self._lock:
            state = self._state
            if state is not None and self._fresh(state, newer_than):
                return state[0]
            started = self._clock()
            value = self._load()
            self._state = (value, started)
            return value

    def now(self) -> float:
        return self._clock()


# -- peers --------------------------------------------------------------------------------
def normalise_address(address: str) -> str:
    """An IP address as text in one spelling (``::ffff:127.0.0.1`` is ``127.0.0.1``)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def resolve_host(host: str) -> frozenset[str]:
    """Every address a host name (or address literal) resolves to; empty if none."""
    with contextlib.suppress(ValueError):
        return frozenset({normalise_address(str(ipaddress.ip_address(host)))})
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return frozenset()
    return frozenset(normalise_address(str(info[4][0])) for info in infos)


class KnownPeers:
    """The PACS nodes that may associate: ``load()`` gives ``(ae_title, host)`` pairs
    (each enabled node); a peer is known when its calling AE title is one of them and
    its address is one that node's host resolves to (loaded, and resolved, at most
    every ``ttl`` seconds, and again before a refusal)."""

    def __init__(
        self,
        load: Callable[[], Iterable[tuple[str, str]]],
        ttl: float = 5.0,
        resolve: Callable[[str], frozenset[str]] = resolve_host,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolve = resolve
        self._snapshot = Refreshing(lambda: self._index(load()), ttl, clock)

    def _index(self, nodes: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
        index: dict[str, set[str]] = {}
        for ae_title, host in nodes:
            index.setdefault(ae_title.strip(), set()).update(self._resolve(host.strip()))
        return {ae: frozenset(addresses) for ae, addresses in index.items()}

    def __call__(self, ae_title: str, address: str) -> bool:
        ae_title, address = ae_title.strip(), normalise_address(address)
        missed_at = self._snapshot.now()
        if address in self._snapshot.get().get(ae_title, ()):
            return True
        return address in self._snapshot.get(newer_than=missed_at).get(ae_title, ())


# -- instances ----------------------------------------------------------------------------
@dataclass(frozen=True)
class WantedInstances:
    """What one active import asks its PACS for (``ImportJob.request``)."""

    ae_title: str  # the PACS's AE title: the calling AE title of its C-STOREs
    study: str
    series: frozenset[str] = frozenset()  # empty: every series of the study
    instances: frozenset[str] = frozenset()  # empty: every instance of those series

    def wants(self, series: str | None, sop_instance: str) -> bool:
        if self.series and series not in self.series:
            return False
        return not self.instances or sop_instance in self.instances


class ActiveJobs:
    """The instances the listener may store: those some active import asks for, from
    the PACS (calling AE title) it is retrieving from.

    ``load()`` gives the ``WantedInstances`` of every active import; the snapshot is
    re-loaded at most every ``ttl`` seconds, and again before an instance is refused.
    """

    def __init__(
        self,
        load: Callable[[], Iterable[WantedInstances]],
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._snapshot = Refreshing(lambda: self._index(load()), ttl, clock)

    @staticmethod
    def _index(
        wanted: Iterable[WantedInstances],
    ) -> dict[tuple[str, str], tuple[WantedInstances, ...]]:
        index: dict[tuple[str, str], list[WantedInstances]] = {}
        for one in wanted:
            index.setdefault((one.ae_title.strip(), one.study), []).append(one)
        return {key: tuple(value) for key, value in index.items()}

    def __call__(
        self, ae_title: str, study: str | None, series: str | None, sop_instance: str
    ) -> bool:
        if not study:
            return False
        key = (ae_title.strip(), study)
        missed_at = self._snapshot.now()
        if any(w.wants(series, sop_instance) for w in self._snapshot.get().get(key, ())):
            return True
        fresh = self._snapshot.get(newer_than=missed_at)  # no new query if that one was
        return any(w.wants(series, sop_instance) for w in fresh.get(key, ()))


PeerPolicy = Callable[[str, str], bool]
"""``(calling AE title, peer IP address) -> may associate``."""

InstancePolicy = Callable[[str, "str | None", "str | None", str], bool]
"""``(calling AE title, study, series, SOP instance UID) -> may be stored``."""


@dataclass(frozen=True)
class Admission:
    """What the listener lets in; ``None`` for a question means "everything"."""

    peer: PeerPolicy | None = None
    instance: InstancePolicy | None = None


__all__ = [
    "NOT_AUTHORIZED",
    "ActiveJobs",
    "Admission",
    "InstancePolicy",
    "KnownPeers",
    "PeerPolicy",
    "Refreshing",
    "WantedInstances",
    "normalise_address",
    "resolve_host",
]
