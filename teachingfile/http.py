"""File answers that a browser may keep but must revalidate (ETag, 304)."""

import hashlib
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponseBase
from django.utils.cache import get_conditional_response


def file_etag(path: Path) -> str:
    """A strong ETag from the file's name, size and modification time (not its bytes:
    reading a whole series to hash it on every request would cost more than sending it)."""
    stat = path.stat()
    key = f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode()
    return '"' + hashlib.sha256(key).hexdigest()[:32] + '"'


def revalidated_file_response(
    request: HttpRequest, path: Path, *, content_type: str, cache_control: str
) -> HttpResponseBase:
    """The file, or 304 Not Modified when the browser's copy (If-None-Match) is current."""
    etag = file_etag(path)
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = FileResponse(path.open("rb"), content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    return response
