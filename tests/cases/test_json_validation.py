"""Every JSON endpoint checks its body against a schema: unknown keys, wrong types, numbers
out of range, deep nesting and huge bodies are refused with 400 and a plain sentence, and
nothing is stored; the bodies the editor sends (frontend/src/editor/api.ts) still pass."""

import json

import pytest
from django.urls import reverse

from cases import schemas
from cases.models import Instance, Series
from cases.services import case_create

pytestmark = pytest.mark.django_db

BOX = {"x": 1, "y": 2, "width": 10, "height": 5, "frames": "all"}
ARROW = {"type": "arrow", "x1": 10, "y1": 8, "x2": 6.5, "y2": 4, "frame": 1}
ELLIPSE = {"type": "ellipse", "x": 2, "y": 3, "width": 4.5, "height": 2, "frame": 0}
LABEL = {"type": "text", "x": 1, "y": 5, "text": "Mass", "frame": 0}

# endpoint -> (method, a body the editor sends, bodies the schema refuses)
ENDPOINTS = {
    "instance_edits": (
        "put",
        {
            "blackouts": [BOX, {**BOX, "frames": [0, 2]}],
            "decisions": {"p0": "rejected"},
            "safe_regions": [{"x": 0, "y": 0, "width": 4, "height": 4, "frames": [1]}],
        },
        [
            {"blackouts": 5},
            {"blackouts": [{**BOX, "evil": "<script>"}]},
            {"blackouts": [{**BOX, "x": "1"}]},
            {"blackouts": [{**BOX, "x": True}]},
            {"blackouts": [{**BOX, "width": 0}]},
            {"blackouts": [{**BOX, "x": 10**6}]},
            {"blackouts": [{**BOX, "frames": "some"}]},
            {"blackouts": [{**BOX, "frames": []}]},
            {"blackouts": [BOX] * (schemas.MAX_AREAS + 1)},
            {"decisions": {"p0": "maybe"}},
            {"decisions": {"p" * 100: "accepted"}},
            {"decisions": []},
            {"safe_regions": {"x": 1}},
            {"blackouts": [], "extra": 1},
        ],
    ),
    "instance_confirm": (
        "post",
        {"accept_all": True},
        [{"accept_all": "yes"}, {"accept_all": 1}, {"accept_all": True, "extra": 1}],
    ),
    "series_confirm": ("post", {}, [{"accept_all": True}, {"anything": []}]),
    "instance_annotations": (
        "put",
        {"annotations": [ARROW, ELLIPSE, LABEL]},
        [
            {"annotations": 5},
            {"annotations": [{**ARROW, "colour": "red"}]},
            {"annotations": [{**ARROW, "x1": "10"}]},
            {"annotations": [{**ELLIPSE, "width": -1}]},
            {"annotations": [{**LABEL, "text": 5}]},
            {"annotations": [{**LABEL, "text": "x" * (schemas.MAX_LABEL + 1)}]},
            {"annotations": [{**LABEL, "text": "a\u0000b"}]},  # jsonb cannot store NUL
            {"annotations": [{**LABEL, "text": "a\ud800b"}]},  # nor a lone surrogate
            {"annotations": [{**LABEL, "text": "two\nlines"}]},
            {"annotations": [{"type": "polygon", "points": []}]},
            {"annotations": [{"x": 1}]},
            {"annotations": [LABEL] * (schemas.MAX_ANNOTATIONS + 1)},
            {"annotations": [], "extra": 1},
        ],
    ),
    "series_crop": (
        "put",
        {"crop": {"x": 2, "y": 2, "width": 20, "height": 10}},
        [
            {"crop": 5},
            {"crop": {"x": 2, "y": 2, "width": 20, "height": 10, "frames": "all"}},
            {"crop": {"x": 2, "y": 2, "width": 20}},
            {"crop": {"x": 2.5, "y": 2, "width": 20, "height": 10}},
            {"crop": None, "extra": 1},
        ],
    ),
    "series_key_image": (
        "put",
        None,  # filled in with the instance's id
        [
            {},
            {"instance": "1"},
            {"instance": 0},
            {"instance": 1.5},
            {"instance": 2**70},  # past PostgreSQL's bigint
            {"instance": None, "x": 1},
        ],
    ),
}

DEEP = b'{"blackouts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.fixture
def draft(author):
    case = case_create(author=author, title="Validation")
    series = Series.objects.create(
        case=case, series_instance_uid="2.25.71", study_instance_uid="2.25.72"
    )
    instance = Instance.objects.create(
        series=series, sop_instance_uid="2.25.73", sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
        rows=64, columns=64, number_of_frames=3, working_file="validation.dcm",
        status=Instance.Status.NEEDS_REVIEW,
        proposed_regions=[{
            "id": "p0", "frame": None, "x": 0, "y": 0, "width": 8, "height": 8,
            "kind": "text", "matches": None, "confidence": 0.9,
        }],
    )  # fmt: skip
    return instance


def _url(name: str, instance: Instance) -> str:
    if name.startswith("series_"):
        return reverse(f"cases:{name}", args=[instance.series.case_id, instance.series_id])
    return reverse(f"cases:{name}", args=[instance.series.case_id, instance.pk])


def _send(client, method: str, url: str, body: bytes | str):
    return getattr(client, method)(url, data=body, content_type="application/json")


def _stored(instance: Instance) -> tuple:
    instance.refresh_from_db()
    instance.series.refresh_from_db()
    return (
        instance.blackouts, instance.proposal_decisions, instance.safe_regions,
        instance.annotations, instance.reviewed_at, instance.series.crop,
        instance.series.key_instance_id,
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_the_body_the_editor_sends_is_accepted(client, author, draft, name):
    method, good, _ = ENDPOINTS[name]
    good = {"instance": draft.pk} if good is None else good
    client.force_login(author)
    response = _send(client, method, _url(name, draft), json.dumps(good))
    assert response.status_code == 200, response.content
    assert response.json()["ok"] is True


@pytest.mark.parametrize(
    ("name", "bad"),
    [(name, bad) for name, (_, _, bads) in sorted(ENDPOINTS.items()) for bad in bads],
    ids=str,
)
def test_a_body_outside_the_schema_is_refused_and_nothing_is_stored(
    client, author, draft, name, bad
):
    method = ENDPOINTS[name][0]
    client.force_login(author)
    before = _stored(draft)
    response = _send(client, method, _url(name, draft), json.dumps(bad))
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error and "<script>" not in error and "xxxxxxxxxx" not in error
    assert _stored(draft) == before


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        b'{"a": ' * 50 + b"1" + b"}" * 50,
        b'{"pad": "' + b"x" * (schemas.MAX_BODY_BYTES + 1) + b'"}',
        b"[1, 2]",
        b"not json",
        b'{"blackouts": [{"x": NaN}]}',
    ],
    ids=["deep", "nested-objects", "huge", "not-an-object", "not-json", "nan"],
)
def test_deep_huge_or_malformed_bodies_are_refused_before_parsing(
    client, author, draft, name, body
):
    method = ENDPOINTS[name][0]
    client.force_login(author)
    response = _send(client, method, _url(name, draft), body)
    assert response.status_code == 400
    assert response.json()["error"].startswith("the request body")


def test_errors_say_where_and_what_in_plain_words():
    def error(body: dict, schema: str) -> str:
        with pytest.raises(schemas.BodyInvalid) as caught:
            schemas.parse_body(json.dumps(body).encode(), schema)
        return str(caught.value)

    assert error({"blackouts": 5}, "instance_edits") == "blackouts must be a list"
    assert error({"blackouts": [{**BOX, "evil": 1}]}, "instance_edits") == (
        "blackouts[0] has unknown key(s): 'evil'"
    )
    assert error({"blackouts": [{**BOX, "frames": "x"}]}, "instance_edits") == (
        'blackouts[0].frames must be "all" or a list of frame numbers'
    )
    assert error({}, "series_key_image") == "the body is missing 'instance'"
    assert error({"annotations": [{**LABEL, "text": "y" * 500}]}, "instance_annotations") == (
        "annotations[0].text must be 1 to 80 characters on one line"
    )


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"annotations": [{**LABEL, "text": "[[[[[[[[[[{{{{{{{{{{"}]})
    assert not schemas.nests_deeper_than(text.encode(), schemas.MAX_DEPTH)
    assert schemas.parse_body(text.encode(), "instance_annotations")
    assert schemas.nests_deeper_than(b"[" * 9 + b"]" * 9, 8)
    assert not schemas.nests_deeper_than(b"[" * 8 + b"]" * 8 + b"[]" * 100, 8)
    # an unterminated string (escaped quotes all the way) is scanned once, not per quote
    assert not schemas.nests_deeper_than(b'["' + b'\\"' * 100_000, 8)


@pytest.mark.parametrize(
    "name", sorted(name for name, (method, _, _) in ENDPOINTS.items() if method == "put")
)
@pytest.mark.parametrize("chunked", [False, True], ids=["empty", "chunked"])
def test_a_put_without_a_body_it_can_read_changes_nothing(client, author, draft, name, chunked):
    """Django reads a chunked body (no Content-Length) as empty: it would clear the edits."""
    client.force_login(author)
    _send(client, "put", _url("instance_edits", draft), json.dumps({"blackouts": [
        {"x": 1, "y": 1, "width": 4, "height": 4, "frames": "all"}]}))  # fmt: skip
    before = _stored(draft)
    extra = {"HTTP_TRANSFER_ENCODING": "chunked"} if chunked else {}
    response = client.put(_url(name, draft), data=b"", content_type="application/json", **extra)
    assert response.status_code == 400
    assert response.json()["error"].startswith("the request body")
    assert _stored(draft) == before
