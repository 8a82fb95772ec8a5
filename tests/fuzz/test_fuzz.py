"""Bounded fuzzing (hypothesis) of what hostile or broken peers can send us, each target
in a child process under an address-space limit: nothing crashes, memory stays bounded,
every bad input ends refused or quarantined with a reason.

``FUZZ_SEED=<n>`` explores new inputs (by default the examples are derandomized, so CI
is repeatable); ``FUZZ_EXAMPLES`` sets how many per target.
"""

from __future__ import annotations

import pytest

from tests.fuzz.bounded import run_bounded

MEMORY_MB = 2048


def _check(module: str, timeout: float, env: dict[str, str] | None = None) -> str:
    done = run_bounded(module, memory_mb=MEMORY_MB, timeout=timeout, env=env)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-8000:]
    return done.stdout


def test_the_first_pass_ends_every_damaged_file_with_a_result_within_bounded_memory():
    assert "each ended with a result" in _check("tests.fuzz.first_pass_target", timeout=120)


def test_the_listener_survives_hostile_pdus_and_damaged_data_sets_within_bounded_memory():
    assert "still answering" in _check("tests.fuzz.listener_target", timeout=120)


@pytest.mark.django_db(transaction=True)
def test_an_upload_of_damaged_files_always_ends_and_keeps_its_good_file_within_bounded_memory():
    from django.conf import settings

    database = {"TEST_DATABASE_NAME": settings.DATABASES["default"]["NAME"]}
    assert "each ended and kept its good file" in _check(
        "tests.fuzz.upload_target", timeout=180, env=database
    )
