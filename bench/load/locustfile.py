"""Locust users of the load test: trainees who search the library and view cases, and one
author who pulls a study from the demo PACS and publishes it, all through the web pages.

Run by ``python -m bench.load``, which sets the environment below; by hand:
``locust -f bench/load/locustfile.py --headless -u 51 -r 2 -t 3m --host http://127.0.0.1:8000``.

The test stands in for the TLS proxy of production: every request says
``X-Forwarded-Proto: https`` (gunicorn trusts it from loopback with
``--forwarded-allow-ips``), the client sends the Secure cookies back over loopback HTTP
(``LoopbackTLS``), and every POST carries the ``Origin`` a browser would send.

Every request is recorded with its kind (``login``, ``page``, ``image``, ``author``) and,
when the run stops, written to ``LOAD_SAMPLES`` as JSON with the author's rounds.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urlencode

import gevent
from locust import FastHttpUser, between, constant, events, task
from locust.exception import StopUser

from bench.load.forms import Form, form_for, forms, json_script

TRAINEE_PREFIX = os.environ.get("LOAD_TRAINEE_PREFIX", "trainee-")
TRAINEES = int(os.environ.get("LOAD_TRAINEES", "50"))
PASSWORD = os.environ.get("LOAD_PASSWORD", "load-test-pw-123")
AUTHOR = os.environ.get("LOAD_AUTHOR", "author")
AUTHOR_PASSWORD = os.environ.get("LOAD_AUTHOR_PASSWORD", PASSWORD)
AUTHOR_PATIENT_ID = os.environ.get("LOAD_AUTHOR_PATIENT_ID", "DEMO-0001")
AUTHOR_START = float(os.environ.get("LOAD_AUTHOR_START", "20"))
AUTHOR_PAUSE = float(os.environ.get("LOAD_AUTHOR_PAUSE", "10"))
THINK = (float(os.environ.get("LOAD_THINK_MIN", "2")), float(os.environ.get("LOAD_THINK_MAX", "5")))
SCROLL_MAX = int(os.environ.get("LOAD_SCROLL_MAX", "12"))
SEARCH_WORDS = os.environ.get("LOAD_SEARCH_WORDS", "chest,brain,nodule,mass,liver").split(",")
SAMPLES = os.environ.get("LOAD_SAMPLES", "")
POLL_TIMEOUT = float(os.environ.get("LOAD_POLL_TIMEOUT", "300"))

CASE_LINK = re.compile(r'href="/cases/(\d+)/"')
STUDY_LINK = re.compile(r'href="(/pacs/nodes/\d+/studies/[^"]+/)"')
JOB_URL = re.compile(r"/pacs/jobs/(\d+)/$")
FINISHED = ("done", "incomplete", "failed")

_samples: list[dict[str, Any]] = []
_rounds: list[dict[str, Any]] = []
_marks: dict[str, float] = {"start": time.time()}
_trainee_numbers = itertools.count(1)


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception, context, **kw):
    _samples.append(
        {
            "t": kw.get("start_time") or time.time(),
            "kind": (context or {}).get("kind", "other"),
            "method": request_type,
            "name": name,
            "ms": response_time,
            "bytes": response_length or 0,
            "error": None if exception is None else str(exception)[:300],
        }
    )


@events.spawning_complete.add_listener
def _spawned(user_count: int, **kw: Any) -> None:
    _marks.setdefault("spawned", time.time())


@events.test_stopping.add_listener
def _stopping(**kw: Any) -> None:
    _marks.setdefault("stop", time.time())


@events.test_stop.add_listener
def _dump(**kw: Any) -> None:
    _marks.setdefault("stop", time.time())
    if SAMPLES:
        with open(SAMPLES, "w") as out:
            json.dump({"marks": _marks, "samples": _samples, "author_rounds": _rounds}, out)


class FlowError(Exception):
    """A step of the author's round that did not go as a person would expect."""


class LoopbackTLS(DefaultCookiePolicy):
    """Secure cookies go back over plain HTTP: the test plays the TLS proxy itself."""

    def return_ok_secure(self, cookie: Any, request: Any) -> bool:
        return True


class Browser(FastHttpUser):
    abstract = True
    # The app behind its proxy: HTTPS as far as Django knows.
    default_headers = {"X-Forwarded-Proto": "https", "Accept-Language": "en"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client.cookiejar.set_policy(LoopbackTLS())

    def _origin(self) -> dict[str, str]:
        host = self.host.split("://", 1)[-1].rstrip("/")
        return {"Origin": f"https://{host}", "Referer": f"https://{host}/"}

    def get(
        self, url: str, *, kind: str, name: str | None = None, expect: str | None = None
    ) -> str:
        """A page; anything but a 200 (with ``expect`` in it) is an error."""
        with self.client.get(
            url, name=name or url, context={"kind": kind}, catch_response=True,
            allow_redirects=False,
        ) as response:  # fmt: skip
            self._check_status(response, url)
            text = response.text or ""
            if expect is not None and expect not in text:
                response.failure(f"{expect!r} not in the page")
                raise FlowError(f"GET {url}: {expect!r} not in the page")
            return text

    def get_dicom(self, url: str, *, name: str) -> None:
        """A DICOM file (Part 10: ``DICM`` after the 128-byte preamble) or an error."""
        with self.client.get(
            url, name=name, context={"kind": "image"}, catch_response=True, allow_redirects=False
        ) as response:
            self._check_status(response, url)
            if (response.content or b"")[128:132] != b"DICM":
                response.failure("not a DICOM file")
                raise FlowError(f"GET {url}: not a DICOM file")

    @staticmethod
    def _check_status(response: Any, url: str) -> None:
        if response.status_code != 200:
            where = response.headers.get("Location", "") if response.headers else ""
            response.failure(f"HTTP {response.status_code} {where}".strip())
            raise FlowError(f"GET {url}: HTTP {response.status_code} {where}")

    def post(
        self,
        url: str,
        data: list[tuple[str, str]] | str,
        *,
        kind: str,
        name: str | None = None,
        status: int = 302,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """A form POST (or a JSON one with ``headers``); answers other than ``status``
        are errors. Returns the response."""
        if headers is None:
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            data = urlencode(data)
        with self.client.post(
            url, data=data, name=name or url, context={"kind": kind}, catch_response=True,
            allow_redirects=False, headers={**headers, **self._origin()},
        ) as response:  # fmt: skip
            if response.status_code != status:
                response.failure(f"HTTP {response.status_code}, expected {status}")
                raise FlowError(f"POST {url}: HTTP {response.status_code}, expected {status}")
            return response

    def sign_in(self, username: str, password: str) -> None:
        page = self.get("/login/", kind="login", expect="csrfmiddlewaretoken")
        form = form_for(page, r"/login/$")
        if form is None:
            raise FlowError("no sign-in form")
        data = [(n, v) for n, v in form.data() if n not in ("username", "password")]
        data += [("username", username), ("password", password)]
        response = self.post("/login/", data, kind="login")
        if "/login/" in (response.headers.get("Location") or ""):
            raise FlowError(f"{username} was not signed in")


class Trainee(Browser):
    """Searches the library and views cases; think time between actions."""

    weight = 1
    wait_time = between(*THINK)

    def on_start(self) -> None:
        number = next(_trainee_numbers)
        if number > TRAINEES:
            raise StopUser()
        self.cases: set[str] = set()
        try:
            self.sign_in(f"{TRAINEE_PREFIX}{number:02d}", PASSWORD)
        except FlowError:
            raise StopUser() from None

    def _library(self, query: str = "") -> None:
        url = "/cases/library/" + (f"?{urlencode({'q': query})}" if query else "")
        name = "/cases/library/?q=[word]" if query else "/cases/library/"
        try:
            page = self.get(url, kind="page", name=name)
        except FlowError:
            return
        self.cases.update(CASE_LINK.findall(page))

    @task(3)
    def search(self) -> None:
        self._library(random.choice(SEARCH_WORDS))

    @task(1)
    def browse(self) -> None:
        self._library()

    @task(4)
    def view(self) -> None:
        """Open a case; the viewer loads the first image of a series (its key image when
        it has one), and half the time the trainee scrolls through a few more."""
        if not self.cases:
            self._library()
            return
        case = random.choice(sorted(self.cases))
        try:
            page = self.get(f"/cases/{case}/", kind="page", name="/cases/[id]/")
            config = json_script(page, "viewer-config")
        except (FlowError, ValueError):
            return
        series = random.choice(config["series"])
        urls = [i["url"] for i in series["instances"]]
        ids = [i["id"] for i in series["instances"]]
        start = ids.index(series["key_instance"]) if series.get("key_instance") in ids else 0
        count = 1 + (random.randint(2, SCROLL_MAX) if random.random() < 0.5 else 0)
        for url in urls[start : start + count]:
            try:
                self.get_dicom(url, name="/cases/[id]/published/[id]/dicom")
            except FlowError:
                return
            gevent.sleep(0.1)  # scrolling: one image after another


class Author(Browser):
    """Pulls a study from the demo PACS and publishes it as a case, again and again, with
    a pause between rounds; each round's wall time is recorded."""

    fixed_count = 1
    wait_time = constant(AUTHOR_PAUSE)

    def on_start(self) -> None:
        gevent.sleep(AUTHOR_START)  # let the trainees come in first
        self.sign_in(AUTHOR, AUTHOR_PASSWORD)
        self.round = 0

    def flow_failed(self, step: str, started: float, reason: str) -> None:
        """A step that failed without an HTTP error (the job or the publish went wrong)."""
        events.request.fire(
            request_type="FLOW", name=f"author: {step}", response_time=0, response_length=0,
            exception=FlowError(reason), context={"kind": "author"}, start_time=started,
            response=None,
        )  # fmt: skip

    @task
    def pull_and_publish(self) -> None:
        self.round += 1
        record: dict[str, Any] = {"round": self.round, "started": time.time(), "ok": False}
        _rounds.append(record)
        step = "pull"
        try:
            t0 = time.perf_counter()
            case_url = self._pull()
            record["pull_s"] = time.perf_counter() - t0
            step = "review"
            t1 = time.perf_counter()
            case_id = case_url.strip("/").split("/")[-1]
            record["images"] = self._review(case_id)
            record["review_s"] = time.perf_counter() - t1
            step = "publish"
            t2 = time.perf_counter()
            self._publish(case_id)
            record["publish_s"] = time.perf_counter() - t2
            record["total_s"] = time.perf_counter() - t0
            record["ok"] = True
        except FlowError as exc:
            record["failed_at"], record["reason"] = step, str(exc)
            self.flow_failed(step, record["started"], str(exc))

    def _pull(self) -> str:
        page = self.get("/pacs/search/", kind="author", expect="csrfmiddlewaretoken")
        form = form_for(page, r"^$|/pacs/search/$")
        if form is None:
            raise FlowError("no PACS search form")
        data = [(n, v) for n, v in form.data() if n != "patient_id"]
        data.append(("patient_id", AUTHOR_PATIENT_ID))
        page = self.post("/pacs/search/", data, kind="author", status=200).text or ""
        links = STUDY_LINK.findall(page)
        if not links:
            raise FlowError(f"the PACS search found no study for {AUTHOR_PATIENT_ID}")
        page = self.get(links[0], kind="author", name="/pacs/nodes/[id]/studies/[token]/")
        form = form_for(page, r"/pacs/import/$")
        if form is None:
            raise FlowError("no import form on the study page")
        response = self.post(form.action, form.data(check_all=True), kind="author")
        match = JOB_URL.search(response.headers.get("Location") or "")
        if match is None:
            raise FlowError(f"import did not start: {response.headers.get('Location')}")
        job_id = int(match.group(1))
        status = self._poll(
            lambda: json.loads(
                self.get(
                    f"/pacs/jobs/{job_id}/status/", kind="author", name="/pacs/jobs/[id]/status/"
                )
            ),
            lambda s: s["status"] in FINISHED,
            interval=0.7,  # as the job page polls
        )
        if status["status"] != "done":
            raise FlowError(f"import {job_id} ended {status['status']}: {status['message']}")
        return status["case_url"]

    def _review(self, case_id: str) -> int:
        """Accept and confirm every series in the editor, write the case, accept the text
        that will be published."""
        page = self.get(f"/cases/{case_id}/edit/", kind="author", name="/cases/[id]/edit/")
        config = json_script(page, "editor-config")
        images = 0
        for series in config["series"]:
            images += len(series["instances"])
            self.post(
                series["confirm_url"], "{}", kind="author", status=200,
                name="/cases/[id]/series/[id]/confirm/",
                headers={"Content-Type": "application/json", "X-CSRFToken": config["csrf_token"]},
            )  # fmt: skip
        page = self.get(f"/cases/{case_id}/write/", kind="author", name="/cases/[id]/write/")
        form = form_for(page, r"^$|/write/$")
        if form is None:
            raise FlowError("no write-up form")
        text = {
            "title": f"Chest CT, load test round {self.round}",
            "diagnosis": "Solitary pulmonary nodule",
            "findings": "A well-defined nodule in the right upper lobe.",
            "keywords": "chest nodule",
            "modality": "CT",
            "body_region": "Chest",
        }
        data = [(n, v) for n, v in form.data() if n not in text] + list(text.items())
        self.post(f"/cases/{case_id}/write/", data, kind="author", name="/cases/[id]/write/")
        while True:
            page = self.get(f"/cases/{case_id}/", kind="author", name="/cases/[id]/ (author)")
            pending = [
                f
                for f in forms(page)
                if re.search(r"/text/\d+/$", f.action) and ("action", "accept") in f.buttons
            ]
            if not pending:
                return images
            self._submit(pending[0], ("action", "accept"), "/cases/[id]/text/[id]/")

    def _submit(self, form: Form, button: tuple[str, str] | None, name: str) -> None:
        self.post(form.action, form.data(button=button), kind="author", name=name)

    def _publish(self, case_id: str) -> None:
        page = self.get(f"/cases/{case_id}/", kind="author", name="/cases/[id]/ (author)")
        form = form_for(page, r"/publish/$")
        if form is None:
            raise FlowError("no publish form: the case is not a draft")
        self.post(
            form.action, form.data(check_all=True), kind="author", name="/cases/[id]/publish/"
        )
        page = self._poll(
            lambda: self.get(f"/cases/{case_id}/", kind="author", name="/cases/[id]/ (author)"),
            lambda p: 'class="status publishing"' not in p,
            interval=1.0,
        )
        if 'class="status published"' not in page:
            reasons = re.findall(r'class="message error"[^>]*>(.*?)</p>', page, re.S)
            reasons += re.findall(r"<li>(.*?)</li>", page.split('class="blockers"', 1)[-1])
            raise FlowError("not published: " + ("; ".join(reasons[:3]) or "?"))

    def _poll(self, fetch: Any, done: Any, *, interval: float) -> Any:
        deadline = time.monotonic() + POLL_TIMEOUT
        while time.monotonic() < deadline:
            value = fetch()
            if done(value):
                return value
            gevent.sleep(interval)
        raise FlowError(f"still waiting after {POLL_TIMEOUT:.0f} s")
