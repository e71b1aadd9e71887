"""The organiser API key format, shared by the activity service, which issues keys, and every
service that checks them: `obk_<key id>_<secret>`. Only the secret's SHA-256 travels in events
(`OrganiserKeyIssued`); a key is shown once, when issued, and after that only its id (the part
before the secret) recognises it."""

from __future__ import annotations

import hashlib

KEY_PREFIX = "obk_"
KEY_ID_LENGTH = 12


class MalformedKey(ValueError):
    """What was presented is not shaped like an organiser API key."""


def key_prefix(key_id: str) -> str:
    """What recognises a key in lists and logs: its start, without the secret."""
    return f"{KEY_PREFIX}{key_id}"


def secret_sha256(secret: str) -> str:
    # 256 bits of random secret: a plain SHA-256 is enough to store it, no slow hash needed.
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key(key_id: str, secret: str) -> str:
    return f"{KEY_PREFIX}{key_id}_{secret}"


def parse_api_key(presented: str) -> tuple[str, str]:
    """The key id and the secret of a presented key; MalformedKey if it is not one."""
    if not presented.startswith(KEY_PREFIX) or len(presented) < len(KEY_PREFIX) + KEY_ID_LENGTH + 2:
        raise MalformedKey("the API key is malformed; it starts with 'obk_'")
    key_id = presented[len(KEY_PREFIX) : len(KEY_PREFIX) + KEY_ID_LENGTH]
    if presented[len(KEY_PREFIX) + KEY_ID_LENGTH] != "_":
        raise MalformedKey("the API key is malformed; it starts with 'obk_'")
    return key_id, presented[len(KEY_PREFIX) + KEY_ID_LENGTH + 1 :]
