"""The DICOM network layer: plain Python on pynetdicom, no Django.

- ``scu``: C-ECHO, C-FIND, C-MOVE and C-GET against a PACS (``Node``).
- ``listener``: our Storage SCP, writing into a ``spool.Spool``.
- ``demo_pacs`` and ``sample_data``: a built-in Query/Retrieve SCP over synthetic studies.
- ``errors``: every failure as a ``PacsError`` with a message for the job page.

Importing this package turns off pynetdicom's logging of C-FIND/C-MOVE identifiers:
they hold patient names and IDs, and logs must not.
"""

from pynetdicom import _config

_config.LOG_REQUEST_IDENTIFIERS = False
_config.LOG_RESPONSE_IDENTIFIERS = False
