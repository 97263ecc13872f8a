from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.webhooks.support import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()
