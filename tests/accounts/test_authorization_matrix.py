"""Every URL of the app × the three roles and anonymous: each gets exactly what it may."""

import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.roles import Role

ANON = "anonymous"
WHO = (ANON, Role.AUTHOR, Role.TRAINEE, Role.ADMIN)
LOGIN = "login-redirect"  # 302 to the login page

# url name -> (method, {who: expected status})
MATRIX = {
    "home": ("get", {ANON: LOGIN, Role.AUTHOR: 302, Role.TRAINEE: 302, Role.ADMIN: 302}),
    "login": ("get", {ANON: 200, Role.AUTHOR: 302, Role.TRAINEE: 302, Role.ADMIN: 302}),
    "logout": ("post", {ANON: 302, Role.AUTHOR: 302, Role.TRAINEE: 302, Role.ADMIN: 302}),
    "healthz": ("get", {ANON: 200, Role.AUTHOR: 200, Role.TRAINEE: 200, Role.ADMIN: 200}),
    "cases:my_cases": ("get", {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 403, Role.ADMIN: 403}),
    "cases:case_new": ("post", {ANON: LOGIN, Role.AUTHOR: 302, Role.TRAINEE: 403, Role.ADMIN: 403}),
    "cases:case_detail": (
        "get",
        {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 200, Role.ADMIN: 200},
    ),
    "cases:case_detail[draft]": (
        "get",
        {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "cases:case_withdraw": (
        "post",
        {ANON: LOGIN, Role.AUTHOR: 302, Role.TRAINEE: 403, Role.ADMIN: 302},
    ),
    "cases:case_write": (
        "get",
        {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "cases:case_publish": (
        "post",
        {ANON: LOGIN, Role.AUTHOR: 302, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "cases:case_upload": (
        "post",
        {ANON: LOGIN, Role.AUTHOR: 302, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "cases:free_text_decide": (
        "post",
        {ANON: LOGIN, Role.AUTHOR: 302, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "cases:text_acknowledge": (
        "post",
        {ANON: LOGIN, Role.AUTHOR: 302, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "cases:published_dicom": (
        "get",
        {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 200, Role.ADMIN: 200},
    ),
    "cases:case_edit": ("get", {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 403, Role.ADMIN: 403}),
    "cases:instance_dicom": (
        "get",
        {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "cases:instance_edits": (
        "put",
        {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "cases:instance_annotations": (
        "put",
        {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "cases:instance_confirm": (
        "post",
        {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "cases:instance_leave_out": (
        "post",
        {ANON: LOGIN, Role.AUTHOR: 302, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "cases:series_confirm": (
        "post",
        {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "cases:series_move": (
        "post",
        {ANON: LOGIN, Role.AUTHOR: 302, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "cases:series_crop": (
        "put",
        {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "cases:series_key_image": (
        "put",
        {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "cases:library": ("get", {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 200, Role.ADMIN: 200}),
    "cases:quarantine": (
        "get",
        {ANON: LOGIN, Role.AUTHOR: 403, Role.TRAINEE: 403, Role.ADMIN: 200},
    ),
    "cases:quarantine_discard": (
        "post",
        {ANON: LOGIN, Role.AUTHOR: 403, Role.TRAINEE: 403, Role.ADMIN: 302},
    ),
    "cases:audit_log": (
        "get",
        {ANON: LOGIN, Role.AUTHOR: 403, Role.TRAINEE: 403, Role.ADMIN: 200},
    ),
    "pacs_bridge:search": (
        "get",
        {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    # an unknown (expired) search token sends the author back to the search page
    "pacs_bridge:study": (
        "get",
        {ANON: LOGIN, Role.AUTHOR: 302, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "pacs_bridge:import_start": (
        "post",
        {ANON: LOGIN, Role.AUTHOR: 302, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "pacs_bridge:job": ("get", {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 403, Role.ADMIN: 403}),
    "pacs_bridge:job_status": (
        "get",
        {ANON: LOGIN, Role.AUTHOR: 200, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "pacs_bridge:job_retry": (
        "post",
        {ANON: LOGIN, Role.AUTHOR: 302, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "pacs_bridge:job_fetch_missing": (
        "post",
        {ANON: LOGIN, Role.AUTHOR: 302, Role.TRAINEE: 403, Role.ADMIN: 403},
    ),
    "admin:index": ("get", {ANON: LOGIN, Role.AUTHOR: LOGIN, Role.TRAINEE: LOGIN, Role.ADMIN: 200}),
}


def _app_url_names() -> set[str]:
    """Every named URL of our apps (the Django admin is covered by admin:index)."""
    names: set[str] = set()

    def walk(patterns, namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin":
                    continue
                walk(p.url_patterns, f"{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and p.name:
                names.add(namespace + p.name)

    walk(get_resolver().url_patterns)
    return names


def test_every_url_of_the_app_is_in_the_matrix():
    covered = {name.split("[")[0] for name in MATRIX}
    assert _app_url_names() <= covered, _app_url_names() - covered


@pytest.fixture
def world(make_user):
    """An author with a published and a draft case, and an open quarantine item."""
    from django.conf import settings

    from cases.ingest import reid_encrypt
    from cases.models import FreeTextValue, ImportJob, Instance, QuarantineItem, Series
    from cases.services import case_create
    from pacs_bridge.models import PacsNode

    users = {role: make_user(role.value, role) for role in (Role.AUTHOR, Role.TRAINEE, Role.ADMIN)}
    published = case_create(author=users[Role.AUTHOR], title="Published")
    published.status = published.Status.PUBLISHED
    published.published_at = timezone.now()
    published.save()
    draft = case_create(author=users[Role.AUTHOR], title="Draft")
    item = QuarantineItem.objects.create(stage="first-pass", reason="Structured Report")
    node = PacsNode.objects.create(name="Nowhere", ae_title="NOWHERE", host="127.0.0.1", port=1)
    job = ImportJob.objects.create(
        case=draft, author=users[Role.AUTHOR], source="pacs", pacs_node=node, status="done"
    )
    series = Series.objects.create(
        case=draft, series_instance_uid="2.25.1", study_instance_uid="2.25.2"
    )
    (settings.WORKING_ROOT / "matrix.dcm").parent.mkdir(parents=True, exist_ok=True)
    (settings.WORKING_ROOT / "matrix.dcm").write_bytes(b"\0" * 132)
    instance = Instance.objects.create(
        series=series, sop_instance_uid="2.25.3", sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
        rows=64, columns=64, working_file="matrix.dcm",
    )  # fmt: skip
    published_series = Series.objects.create(
        case=published, series_instance_uid="2.25.4", study_instance_uid="2.25.5"
    )
    (settings.PUBLISHED_ROOT / "matrix.dcm").parent.mkdir(parents=True, exist_ok=True)
    (settings.PUBLISHED_ROOT / "matrix.dcm").write_bytes(b"\0" * 132)
    published_instance = Instance.objects.create(
        series=published_series, sop_instance_uid="2.25.6", sop_class_uid="1.2.3",
        rows=64, columns=64, working_file="", published_file="matrix.dcm", status="published",
    )  # fmt: skip
    text = FreeTextValue.objects.create(
        case=draft, series=series, keyword="SeriesDescription", digest="matrix",
        ciphertext=reid_encrypt({"value": "AXIAL"}),
    )  # fmt: skip
    return {
        "users": users, "published": published, "draft": draft, "item": item, "node": node,
        "job": job, "instance": instance, "published_instance": published_instance,
        "text": text,
    }  # fmt: skip


def _url(name: str, world) -> str:
    base = name.split("[")[0]
    if base in ("cases:case_detail", "cases:case_withdraw"):
        case = world["draft"] if name.endswith("[draft]") else world["published"]
        return reverse(base, args=[case.pk])
    if base in ("cases:case_edit", "cases:case_write", "cases:case_publish", "cases:case_upload"):
        return reverse(base, args=[world["draft"].pk])
    if base in (
        "cases:instance_dicom", "cases:instance_edits", "cases:instance_annotations",
        "cases:instance_confirm", "cases:instance_leave_out",
    ):  # fmt: skip
        return reverse(base, args=[world["draft"].pk, world["instance"].pk])
    if base == "cases:free_text_decide":
        return reverse(base, args=[world["draft"].pk, world["text"].pk])
    if base == "cases:text_acknowledge":
        return reverse(base, args=[world["draft"].pk])
    if base == "cases:published_dicom":
        return reverse(base, args=[world["published"].pk, world["published_instance"].pk])
    if base in (
        "cases:series_crop", "cases:series_key_image", "cases:series_move", "cases:series_confirm"
    ):  # fmt: skip
        return reverse(base, args=[world["draft"].pk, world["instance"].series_id])
    if base == "cases:quarantine_discard":
        return reverse(base, args=[world["item"].pk])
    if base == "pacs_bridge:study":
        return reverse(base, args=[world["node"].pk, "expired-token"])
    if base.startswith("pacs_bridge:job"):
        return reverse(base, args=[world["job"].pk])
    return reverse(base)


@pytest.mark.parametrize("who", WHO, ids=str)
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_role_gets_exactly_what_it_may(client, world, name, who):
    method, expected = MATRIX[name]
    if who != ANON:
        client.force_login(world["users"][who])
    url = _url(name, world)
    if method == "put":
        body = {"instance": world["instance"].pk} if name == "cases:series_key_image" else {}
        response = client.put(url, data=json.dumps(body), content_type="application/json")
    else:
        response = getattr(client, method)(url)
    want = expected[who]
    if want == LOGIN:
        assert response.status_code == 302, (url, who, response.status_code)
        assert "/login/" in response["Location"], response["Location"]
    else:
        assert response.status_code == want, (url, who, response.status_code)


@pytest.mark.parametrize(
    ("role", "home"),
    [
        (Role.AUTHOR, "cases:my_cases"),
        (Role.TRAINEE, "cases:library"),
        (Role.ADMIN, "cases:quarantine"),
    ],
)
def test_home_sends_each_role_to_its_own_page(client, make_user, role, home):
    client.force_login(make_user("someone", role))
    response = client.get(reverse("home"))
    assert response["Location"] == reverse(home)


def test_a_user_without_a_role_is_told_so(client, make_user):
    client.force_login(make_user("nobody", None))
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert b"no role" in response.content.lower()


def test_unsafe_methods_are_refused_on_post_only_urls(client, world):
    client.force_login(world["users"][Role.AUTHOR])
    assert client.get(reverse("cases:case_new")).status_code == 405
    assert client.get(reverse("logout")).status_code == 405


# Every URL that names an author's case, image, series, free-text value or import job is
# refused to another author, whatever it does (write, publish, edit, view a draft, read a
# job) — except reading what is published, which every signed-in user may.
OWNED_ID_ARGS = ("case_id", "instance_id", "series_id", "job_id", "value_id")
OPEN_TO_EVERY_AUTHOR = {"cases:case_detail", "cases:published_dicom"}  # the published case


def _urls_naming_owned_objects() -> set[str]:
    names: set[str] = set()

    def walk(patterns, namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace != "admin":
                    walk(p.url_patterns, f"{p.namespace}:" if p.namespace else namespace)
            elif p.name and any(arg in str(p.pattern) for arg in OWNED_ID_ARGS):
                names.add(namespace + p.name)

    walk(get_resolver().url_patterns)
    return names


REFUSED_TO_ANOTHER_AUTHOR = sorted(
    name
    for name in MATRIX
    if name.split("[")[0] in _urls_naming_owned_objects() and name not in OPEN_TO_EVERY_AUTHOR
)


# Each with the method of the matrix, and a page that also takes a form with that too.
SECOND_AUTHOR_REQUESTS = [(name, MATRIX[name][0]) for name in REFUSED_TO_ANOTHER_AUTHOR] + [
    ("cases:case_write", "post")
]


def test_every_url_naming_an_owned_object_is_checked_against_a_second_author():
    checked = {name.split("[")[0] for name in REFUSED_TO_ANOTHER_AUTHOR} | OPEN_TO_EVERY_AUTHOR
    assert _urls_naming_owned_objects() <= checked, _urls_naming_owned_objects() - checked
    assert "cases:case_detail[draft]" in REFUSED_TO_ANOTHER_AUTHOR


def _good_form(name: str) -> dict:
    from cases.publish import CHECKLIST

    return {
        "cases:case_write": {"title": "Taken over", "difficulty": "", "patient_sex": ""},
        "cases:case_publish": dict.fromkeys(CHECKLIST, "on"),
        "cases:case_withdraw": {"reason": "not mine to withdraw"},
        "cases:series_move": {"to": "up"},
    }.get(name, {})


def _good_body(name: str, world) -> dict:
    """A JSON body the owner could send, so that only ownership stands in the way."""
    return {
        "cases:series_key_image": {"instance": world["instance"].pk},
        "cases:series_crop": {"crop": {"x": 0, "y": 0, "width": 8, "height": 8}},
        "cases:instance_edits": {"blackouts": [{"x": 0, "y": 0, "width": 8, "height": 8}]},
        "cases:instance_annotations": {
            "annotations": [{"type": "text", "x": 1, "y": 1, "text": "B was here"}]
        },
        "cases:instance_confirm": {"accept_all": True},
    }.get(name, {})


@pytest.mark.parametrize(
    ("name", "method"), SECOND_AUTHOR_REQUESTS, ids=[f"{n}-{m}" for n, m in SECOND_AUTHOR_REQUESTS]
)
def test_another_author_is_refused_everything_of_a_case_that_is_not_theirs(
    client, world, make_user, name, method
):
    from cases.models import AuditEvent, Case, Instance

    other = make_user("bob", Role.AUTHOR)
    client.force_login(other)
    url = _url(name, world)
    before = (
        AuditEvent.objects.count(),
        list(Case.objects.order_by("pk").values()),
        list(Instance.objects.order_by("pk").values()),
    )
    body = _good_body(name.split("[")[0], world)
    if method in ("put", "post") and body:
        response = getattr(client, method)(
            url, data=json.dumps(body), content_type="application/json"
        )
    elif method == "post":
        response = client.post(url, data=_good_form(name.split("[")[0]))
    else:
        response = getattr(client, method)(url)
    assert response.status_code in (403, 404), (url, response.status_code)
    assert b"Draft" not in response.content and b"matrix.dcm" not in response.content
    after = (
        AuditEvent.objects.count(),
        list(Case.objects.order_by("pk").values()),
        list(Instance.objects.order_by("pk").values()),
    )
    assert after == before


@pytest.mark.parametrize("name", sorted(OPEN_TO_EVERY_AUTHOR))
def test_another_author_may_read_what_is_published(client, world, make_user, name):
    client.force_login(make_user("bob", Role.AUTHOR))
    assert client.get(_url(name, world)).status_code == 200
