"""Which peers and instances our DICOM listener lets in, from the database (ADR 0006).

``pacs_bridge.dicom`` imports no Django: the ``dicom_listener`` command passes it
``listener_admission()``, whose two policies read:

- the enabled PACS nodes (``known_pacs_nodes``): a peer may associate when its calling
  AE title is a node's AE title and it connects from that node's host;
- the imports that are retrieving (``wanted_instances``): an instance is stored when
  an import retrieving from the PACS with that AE title asks for its study, and its
  series and instance where the import names them.

The listener calls them from its association threads. Each load runs one query on that
thread's own connection and closes it, so no thread keeps a database connection open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import connection

from cases.models import ImportJob
from pacs_bridge.dicom.policy import ActiveJobs, Admission, KnownPeers, WantedInstances
from pacs_bridge.models import PacsNode

T = TypeVar("T")

#: Seconds an import snapshot is reused (a miss re-reads it before refusing).
JOBS_TTL_SECONDS = 1.0
#: Seconds the PACS nodes (and their hosts' addresses) are reused.
NODES_TTL_SECONDS = 5.0


def known_pacs_nodes() -> list[tuple[str, str]]:
    """``(ae_title, host)`` of every enabled PACS node."""
    rows = PacsNode.objects.filter(enabled=True).values_list("ae_title", "host")
    return [(str(ae), str(host)) for ae, host in rows]


def wanted_instances() -> list[WantedInstances]:
    """What each import that is retrieving from a PACS asks for (``ImportJob.request``:
    ``study``, ``series`` (empty: the whole study), ``instances`` (series -> SOP
    Instance UIDs, for a fetch of missing instances))."""
    rows = ImportJob.objects.filter(
        status=ImportJob.Status.RETRIEVING,
        source=ImportJob.Source.PACS,
        pacs_node__isnull=False,
    ).values_list("pacs_node__ae_title", "request")
    wanted = []
    for ae_title, request in rows:
        if not isinstance(request, dict) or not isinstance(request.get("study"), str):
            continue
        instances = request.get("instances") or {}
        series = set(request.get("series") or []) | set(instances)
        wanted.append(
            WantedInstances(
                ae_title=str(ae_title).strip(),
                study=request["study"],
                series=frozenset(str(s) for s in series),
                instances=frozenset(str(u) for uids in instances.values() for u in uids),
            )
        )
    return wanted


def _own_connection(load: Callable[[], T]) -> Callable[[], T]:
    """Run ``load`` and close this thread's connection afterwards (an association
    thread ends without Django's request cycle closing it), unless it is in a
    transaction (a test calling the policy on its own thread)."""

    def run() -> T:
        try:
            return load()
        finally:
            if not connection.in_atomic_block:
                connection.close()

    return run


def listener_admission() -> Admission:
    """The listener's admission policies, backed by the database."""
    return Admission(
        peer=KnownPeers(_own_connection(known_pacs_nodes), ttl=NODES_TTL_SECONDS),
        instance=ActiveJobs(_own_connection(wanted_instances), ttl=JOBS_TTL_SECONDS),
    )


__all__ = ["known_pacs_nodes", "listener_admission", "wanted_instances"]
