"""Just enough HTML reading for the load test's simulated browser (standard library only,
imported by the locustfile): the forms of a page, and ``json_script`` data."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    method: str
    # (name, value, type) of every input, select and textarea, in page order.
    fields: list[tuple[str, str, str]] = field(default_factory=list)
    # (name, value) of every named submit button.
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def data(
        self, *, button: tuple[str, str] | None = None, check_all: bool = False
    ) -> list[tuple[str, str]]:
        """What a browser submits: text and hidden fields, selects, ticked checkboxes (all
        of them with ``check_all``), and the button pressed."""
        out = []
        for name, value, kind in self.fields:
            if kind in ("checkbox", "radio") and not (check_all or value.startswith("\0")):
                continue
            out.append((name, value.lstrip("\0") or ("on" if kind == "checkbox" else "")))
        if button is not None:
            out.append(button)
        return out


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._form)
        if self._form is None:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "file"):
                return
            value = a.get("value", "")
            if kind in ("checkbox", "radio") and "checked" in a:
                value = "\0" + value  # ticked already
            self._form.fields.append((a["name"], value, kind))
        elif tag == "button" and a.get("name"):
            self._form.buttons.append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self._select, self._select_value = a["name"], None
        elif tag == "option" and self._select is not None:
            if self._select_value is None or "selected" in a:
                self._select_value = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = a["name"], []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._form is None:
            return
        if tag == "select" and self._select is not None:
            self._form.fields.append((self._select, self._select_value or "", "select"))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._form.fields.append((self._textarea, "".join(self._text).lstrip("\n"), "text"))
            self._textarea = None
        elif tag == "form":
            self._form = None


def forms(page: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(page)
    return parser.forms


def form_for(page: str, action_pattern: str) -> Form | None:
    """The first form whose action matches the regular expression."""
    return next((f for f in forms(page) if re.search(action_pattern, f.action)), None)


def json_script(page: str, element_id: str) -> object:
    """The data of Django's ``{{ value|json_script:"element_id" }}``."""
    match = re.search(
        rf'<script id="{re.escape(element_id)}" type="application/json">(.*?)</script>',
        page,
        re.S,
    )
    if match is None:
        raise ValueError(f"no json_script {element_id!r} on the page")
    return json.loads(match.group(1))
