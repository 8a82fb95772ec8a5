"""``{% vite_asset "src/entry.ts" %}``: the script and CSS tags of a Vite build entry.

Reads ``frontend/dist/.vite/manifest.json`` (written by ``vite build``) and points at the
files Django serves as static files under ``viewer/``.
"""

import json
from functools import cache
from pathlib import Path

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()


class FrontendNotBuilt(RuntimeError):
    pass


@cache
def _manifest(path: Path) -> dict[str, dict[str, object]]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FrontendNotBuilt(
            f"{path} is missing: build the frontend first (make frontend)."
        ) from None


@register.simple_tag
def vite_asset(entry: str) -> SafeString:
    manifest = _manifest(Path(settings.FRONTEND_DIST) / ".vite" / "manifest.json")
    chunk = manifest[entry]
    css = [static(f"viewer/{c}") for c in chunk.get("css", [])]  # type: ignore[union-attr]
    links = format_html_join("", '<link rel="stylesheet" href="{}">', ((c,) for c in css))
    script = format_html(
        '<script type="module" src="{}"></script>', static(f"viewer/{chunk['file']}")
    )
    return links + script
