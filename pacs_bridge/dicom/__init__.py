"""The DICOM network layer: plain Python on pynetdicom, no Django.

- ``scu``: C-ECHO, C-FIND, C-MOVE and C-GET against a PACS (``Node``).
- ``listener``: our Storage SCP, writing into a ``spool.Spool``, with its limits.
- ``policy``: who may associate with the listener and which instances it keeps (pure;
  the database side is ``pacs_bridge.admission``, ADR 0006).
- ``spool``: the raw incoming store, one owner-only folder per series.
- ``contexts``: the SOP classes and transfer syntaxes we accept and propose.
- ``demo_pacs`` and ``sample_data``: a built-in Query/Retrieve SCP over synthetic studies.
- ``errors``: every failure as a ``PacsError`` with a message for the job page.

Process-wide effects, on purpose:

- importing this package turns off pynetdicom's logging of C-FIND/C-MOVE identifiers
  (they hold patient names and IDs, and logs must not);
- ``listener.serve`` and every ``scu`` call apply ``listener.tune_pynetdicom`` (faster
  wake-ups and socket reads inside pynetdicom 3.0, see there; off with
  ``TEACHINGFILE_PYNETDICOM_TUNING=0``); ``serve`` also turns on chunked receive into
  its spool.
"""

from pynetdicom import _config

_config.LOG_REQUEST_IDENTIFIERS = False
_config.LOG_RESPONSE_IDENTIFIERS = False
