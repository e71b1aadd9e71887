from __future__ import annotations

import pytest

from services.kernel.errors import Unauthenticated
from services.kernel.organisers import _parse, new_key


def test_a_new_key_parses_back_to_its_id_and_secret():
    key = new_key()
    assert _parse(key.api_key) == (key.key_id, key.secret)
    assert key.secret not in key.secret_sha256
    assert len(key.secret) >= 43  # 256 bits, url-safe


@pytest.mark.parametrize("bad", ["", "obk_", "abc_0123456789ab_secret", "obk_0123456789abXsecret"])
def test_malformed_keys_are_refused(bad: str):
    with pytest.raises(Unauthenticated, match="malformed"):
        _parse(bad)
