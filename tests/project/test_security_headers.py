"""Response headers and request trust: CSP, no-store, revalidated images, proxy headers,
idle sessions, and the production compose file's TLS proxy."""

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone

from cases.models import AuditEvent, Case, ImportJob, Instance, Series
from cases.services import case_create, case_withdraw
from teachingfile.middleware import TrustedProxyMiddleware
from tests.conftest import require

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def published(author):
    """A published case with one published image on disk."""
    case = case_create(author=author, title="Published")
    case.status = Case.Status.PUBLISHED
    case.published_at = timezone.now()
    case.save()
    series = Series.objects.create(
        case=case, series_instance_uid="2.25.41", study_instance_uid="2.25.42"
    )
    path = settings.PUBLISHED_ROOT / f"headers-{case.pk}.dcm"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * 128 + b"DICM")
    instance = Instance.objects.create(
        series=series, sop_instance_uid="2.25.43", sop_class_uid="1.2.840.10008.5.1.4.1.1.2",
        rows=8, columns=8, working_file="", published_file=path.name, status="published",
    )  # fmt: skip
    return case, instance


def _image_url(case, instance) -> str:
    return reverse("cases:published_dicom", args=[case.pk, instance.pk])


# --- Content-Security-Policy ------------------------------------------------------------


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}


def test_pages_carry_a_content_security_policy_without_inline_script(client, trainee):
    anonymous = _directives(client.get(reverse("login")))
    client.force_login(trainee)
    signed_in = _directives(client.get(reverse("cases:library")))
    for directives in (anonymous, signed_in):
        assert directives["default-src"] == ["'self'"]
        # cornerstone's codecs compile WebAssembly; nothing may eval JavaScript or run inline.
        assert directives["script-src"] == ["'self'", "'wasm-unsafe-eval'"]
        assert "'unsafe-inline'" not in directives["style-src"]
        assert directives["object-src"] == ["'none'"]
        assert directives["frame-ancestors"] == ["'none'"]


def test_no_template_has_inline_script_or_style():
    """Data for the TypeScript side goes through json_script (a data block, not code)."""
    templates = [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]
    assert templates
    for path in templates:
        text = path.read_text()
        assert "<script>" not in text and "<style" not in text, path
        assert " style=" not in text and " onclick=" not in text, path


# --- Cache-Control ----------------------------------------------------------------------


def test_signed_in_pages_and_json_answers_are_not_stored(client, author):
    client.force_login(author)
    job = ImportJob.objects.create(case=case_create(author=author), author=author, source="upload")
    for url in (
        reverse("cases:my_cases"),
        reverse("pacs_bridge:search"),
        reverse("cases:library"),
        reverse("pacs_bridge:job_status", args=[job.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "no-store", url


def test_a_search_result_page_is_not_stored(client, author):
    client.force_login(author)
    response = client.post(reverse("pacs_bridge:search"), {})  # the form with its errors
    assert response["Cache-Control"] == "no-store"


def test_a_views_own_cache_control_is_kept(client):
    # Django's LoginView is never_cache: the middleware leaves its header alone.
    assert "no-store" in client.get(reverse("login"))["Cache-Control"]
    assert "max-age=0" in client.get(reverse("login"))["Cache-Control"]


# --- Images: private, revalidated, gone once withdrawn ----------------------------------


def test_a_published_image_is_private_revalidated_and_answers_304_when_unchanged(
    client, trainee, published
):
    client.force_login(trainee)
    url = _image_url(*published)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-cache"
    etag = response["ETag"]
    assert etag.startswith('"') and len(etag) > 8
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again["ETag"] == etag and again["Cache-Control"] == "private, no-cache"
    assert client.get(url, HTTP_IF_NONE_MATCH='"stale"').status_code == 200


def test_the_etag_changes_when_the_file_does(client, trainee, published):
    client.force_login(trainee)
    case, instance = published
    first = client.get(_image_url(case, instance))["ETag"]
    (settings.PUBLISHED_ROOT / instance.published_file).write_bytes(b"\1" * 256)
    second = client.get(_image_url(case, instance), HTTP_IF_NONE_MATCH=first)
    assert second.status_code == 200 and second["ETag"] != first


def test_a_withdrawn_cases_images_are_gone_for_everyone(client, author, trainee, published):
    case, instance = published
    client.force_login(trainee)
    etag = client.get(_image_url(case, instance))["ETag"]
    case_withdraw(case=case, by=author, reason="test")
    assert client.get(_image_url(case, instance)).status_code == 404
    # A cached copy is not revalidated either.
    assert client.get(_image_url(case, instance), HTTP_IF_NONE_MATCH=etag).status_code == 404
    client.force_login(author)
    assert client.get(_image_url(case, instance)).status_code == 404


# --- Proxy headers ----------------------------------------------------------------------


def _through_middleware(remote_addr: str, **headers: str) -> dict[str, object]:
    seen: dict[str, object] = {}

    def view(request):
        seen["secure"] = request.is_secure()
        seen["remote_addr"] = request.META["REMOTE_ADDR"]
        seen["forwarded"] = sorted(k for k in request.META if "FORWARDED" in k)
        return HttpResponse()

    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers)
    TrustedProxyMiddleware(view)(request)
    return seen


def test_a_forged_forwarded_proto_from_an_untrusted_address_is_ignored():
    with override_settings(TEACHINGFILE_TRUSTED_PROXIES=["10.0.0.0/8"]):
        seen = _through_middleware(
            "192.0.2.9",
            HTTP_X_FORWARDED_PROTO="https",
            HTTP_X_FORWARDED_FOR="1.2.3.4",
            HTTP_X_FORWARDED_HOST="evil.example",
            HTTP_FORWARDED="for=1.2.3.4;proto=https",
        )
    assert seen == {"secure": False, "remote_addr": "192.0.2.9", "forwarded": []}


def test_by_default_no_address_is_trusted():
    assert settings.TEACHINGFILE_TRUSTED_PROXIES == []
    seen = _through_middleware(
        "127.0.0.1", HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="1.2.3.4"
    )
    assert seen == {"secure": False, "remote_addr": "127.0.0.1", "forwarded": []}


@override_settings(TEACHINGFILE_TRUSTED_PROXIES=["10.0.0.0/8", "fd00::/8"])
def test_a_trusted_proxy_is_believed_and_the_client_address_taken_from_it():
    seen = _through_middleware(
        "10.0.0.5",
        HTTP_X_FORWARDED_PROTO="https",
        # A client-supplied left part, then what our proxies appended (right-most last).
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7, 10.0.0.9",
    )
    assert seen["secure"] is True
    assert seen["remote_addr"] == "203.0.113.7"
    seen = _through_middleware("fd00::1", HTTP_X_FORWARDED_PROTO="https")
    assert seen["secure"] is True and seen["remote_addr"] == "fd00::1"
    # An IPv4 proxy seen through a dual-stack socket.
    assert _through_middleware("::ffff:10.0.0.5", HTTP_X_FORWARDED_PROTO="https")["secure"]


@override_settings(SECURE_SSL_REDIRECT=True, TEACHINGFILE_TRUSTED_PROXIES=["10.0.0.2"])
def test_the_https_redirect_trusts_only_the_proxy(client):
    forged = client.get(reverse("login"), HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="10.0.0.3")
    assert forged.status_code == 301 and forged["Location"].startswith("https://")
    proxied = client.get(reverse("login"), HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="10.0.0.2")
    assert proxied.status_code == 200


@override_settings(TEACHINGFILE_TRUSTED_PROXIES=["10.0.0.2"])
def test_the_audit_log_records_the_client_behind_the_proxy_not_a_forged_one(client, author):
    login = reverse("login")
    wrong = {"username": "ada", "password": "wrong"}
    client.post(login, wrong, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.4")
    client.post(login, wrong, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.5")
    ips = [e.detail["ip"] for e in AuditEvent.objects.filter(action="login.failed").order_by("pk")]
    assert ips == ["198.51.100.4", "192.0.2.1"]


# --- Sessions ---------------------------------------------------------------------------


def test_sessions_end_after_the_idle_timeout(client, trainee):
    assert settings.SESSION_IDLE_TIMEOUT == 30 * 60 == settings.SESSION_COOKIE_AGE
    client.force_login(trainee)
    library = reverse("cases:library")
    assert client.get(library).status_code == 200
    session = client.session
    session["_last_seen"] = int(time.time()) - settings.SESSION_IDLE_TIMEOUT + 60
    session.save()
    assert client.get(library).status_code == 200  # 29 minutes idle: still signed in
    session = client.session
    assert session["_last_seen"] >= int(time.time()) - 5  # the request counted as activity
    session["_last_seen"] = int(time.time()) - settings.SESSION_IDLE_TIMEOUT - 1
    session.save()
    response = client.get(library)
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert "_auth_user_id" not in client.session


def test_the_session_cookie_ends_with_the_browser_and_is_http_only(client, trainee):
    response = client.post(reverse("login"), {"username": "tom", "password": "tom-pw-123"})
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and not cookie["max-age"] and not cookie["expires"]


# --- The production compose file --------------------------------------------------------


def _compose_config() -> dict:
    exe = shutil.which("docker-compose")
    require(exe is not None, "docker-compose (Debian package docker-compose)")
    env = {
        "POSTGRES_PASSWORD": "x", "DJANGO_SECRET_KEY": "x", "TEACHINGFILE_DEID_SECRET": "x",
        "TEACHINGFILE_REID_KEY": "x", "ORTHANC_PASSWORD": "x", "PATH": "/usr/bin:/bin",
    }  # fmt: skip
    result = subprocess.run(
        [exe, "-f", "docker-compose.yml", "config"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    import yaml  # PyYAML: in the venv through rapidocr-onnxruntime

    return yaml.safe_load(result.stdout)


def test_compose_publishes_only_the_tls_proxy_and_the_dicom_listener():
    config = _compose_config()
    services = config["services"]
    published = {name for name, s in services.items() if s.get("ports")}
    assert published <= {"proxy", "listener", "orthanc"}, published
    assert "ports" not in services["web"]
    assert {p["published"] for p in services["proxy"]["ports"]} == {80, 443}
    assert (ROOT / "deploy" / "Caddyfile").exists()
    # The app trusts X-Forwarded-* only from the proxy's own network.
    trusted = services["web"]["environment"]["TEACHINGFILE_TRUSTED_PROXIES"]
    subnets = [c["subnet"] for c in config["networks"]["edge"]["ipam"]["config"]]
    assert trusted in subnets
    assert set(services["proxy"]["networks"]) == {"edge"}


def test_the_caddyfile_proxies_to_gunicorn_over_the_edge_network():
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "reverse_proxy web:8000" in caddyfile


def test_a_scheme_gunicorn_took_from_a_forged_header_is_undone():
    """gunicorn sets wsgi.url_scheme from X-Forwarded-Proto of loopback clients itself."""
    seen = _through_middleware(
        "127.0.0.1", HTTP_X_FORWARDED_PROTO="https", **{"wsgi.url_scheme": "https"}
    )
    assert seen["secure"] is False
