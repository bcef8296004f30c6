"""Every command-line case of the bad-input table (cases.py), run as a user would."""

from __future__ import annotations

import pytest

from .cases import CASES, Case
from .conftest import Ran, check

# The first test also runs every case (a session fixture, several processes at a time).
pytestmark = pytest.mark.timeout(1800)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_fails_cleanly(case: Case, cli_runs: dict[str, Ran], requests_by_case: dict[str, int]) -> None:
    check(cli_runs[case.id], requests_by_case.get(case.id, 0))


def test_the_table_is_large_and_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 350
