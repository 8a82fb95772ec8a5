import pytest
from django.db import DatabaseError, connection, transaction

from cases.models import AuditEvent
from cases.services import audit_record, case_create

pytestmark = pytest.mark.django_db


def test_creating_a_case_is_audited(author):
    case = case_create(author=author, title="Pneumothorax")
    event = AuditEvent.objects.get(action="case.create")
    assert event.actor == author
    assert event.case == case


def test_audit_events_cannot_be_changed_or_deleted_through_the_orm(author):
    event = audit_record(actor=author, action="test.event")
    event.action = "rewritten"
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.all().delete()


def test_the_database_refuses_to_rewrite_the_audit_log(author):
    event = audit_record(actor=author, action="test.event")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE cases_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM cases_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"
