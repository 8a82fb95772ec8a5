"""Request and response policies that hold for every view.

- ``TrustedProxyMiddleware`` (first): X-Forwarded-* headers count only when the request
  comes from one of ``TEACHINGFILE_TRUSTED_PROXIES``; from anyone else they are removed
  before SecurityMiddleware (``SECURE_PROXY_SSL_HEADER``) or anything else reads them.
  Through a trusted proxy, ``REMOTE_ADDR`` becomes the client's address from
  X-Forwarded-For, so log-in throttling and the audit log see the real client.
- ``IdleSessionMiddleware``: a signed-in user is signed out after
  ``SESSION_IDLE_TIMEOUT`` seconds without a request.
- ``NoStoreMiddleware``: ``Cache-Control: no-store`` on every answer to a signed-in user
  and on every JSON answer, unless the view chose its own Cache-Control.
"""

import ipaddress
import time
from collections.abc import Callable, Iterable
from functools import lru_cache

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
GetResponse = Callable[[HttpRequest], HttpResponse]

# Request headers a client could forge to pose as the proxy (Django's META names).
_FORWARDED_PREFIXES = ("HTTP_X_FORWARDED_", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.2 from a dual-stack socket is 10.0.0.2
    return address


def _is_trusted(value: str, networks: Iterable[Network]) -> bool:
    address = _address(value)
    return address is not None and any(address in network for network in networks)


class TrustedProxyMiddleware:
    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        networks = _networks(tuple(settings.TEACHINGFILE_TRUSTED_PROXIES))
        meta = request.META
        if _is_trusted(meta.get("REMOTE_ADDR", ""), networks):
            # The client is the right-most address that is not one of our proxies (every
            # proxy appends the address it got the request from; what is left of that
            # may be forged by the client).
            hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
            for hop in reversed([h for h in hops if h]):
                if not _is_trusted(hop, networks):
                    if _address(hop) is not None:
                        meta["REMOTE_ADDR"] = str(_address(hop))
                    break
        else:
            if "HTTP_X_FORWARDED_PROTO" in meta:
                # gunicorn believes this header from its own forwarded_allow_ips (loopback
                # by default) and has already set the scheme from it: undo that too.
                meta["wsgi.url_scheme"] = "http"
            for key in [k for k in meta if k.startswith(_FORWARDED_PREFIXES)]:
                del meta[key]
        return self.get_response(request)


_LAST_SEEN = "_last_seen"
# Refresh the session at most this often (seconds): not one database write per image.
_TOUCH_EVERY = 60


class IdleSessionMiddleware:
    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get(_LAST_SEEN)
            if isinstance(last_seen, int) and now - last_seen > settings.SESSION_IDLE_TIMEOUT:
                logout(request)  # flushes the session; the view sees an anonymous user
            elif not isinstance(last_seen, int) or now - last_seen >= _TOUCH_EVERY:
                # Saving also pushes the session's expiry (SESSION_COOKIE_AGE) forward.
                request.session[_LAST_SEEN] = now
        return self.get_response(request)


class NoStoreMiddleware:
    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.has_header("Cache-Control"):
            return response
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        is_json = response.get("Content-Type", "").startswith("application/json")
        if signed_in or is_json:
            response["Cache-Control"] = "no-store"
        return response
