"""How the walks find what a learner reads and clicks: by role and accessible name, with
patterns loose enough for the wording to change (the pages' exact words are not under test;
that a person can find the control is)."""

from __future__ import annotations

import re

from playwright.async_api import Locator, Page

ACCEPT = re.compile(r"accept|claim|add .*badge", re.I)
DOWNLOAD = re.compile(r"download", re.I)
EMAIL_FIELD = re.compile(r"email", re.I)
SEND_ME = re.compile(r"send|email me|get .*badge|claim|continue", re.I)
SIGN_IN = re.compile(r"sign.?in|email me|send", re.I)
START_QUEST = re.compile(r"start|begin|quest|continue", re.I)
SUBMIT = re.compile(r"submit|send|upload|save", re.I)
CONFIRM = re.compile(r"confirm|meets the criteria", re.I)
FEEDBACK = re.compile(r"feedback|comment", re.I)
APPROVE = re.compile(r"approve", re.I)
ASK_FOR_CHANGES = re.compile(r"ask for changes|changes|reject|return", re.I)
ERROR_HEADING = re.compile(r"not possible|forbidden|error|sign in|not valid|not found", re.I)


def link_or_button(page: Page, name: re.Pattern[str]) -> Locator:
    return page.get_by_role("link", name=name).or_(page.get_by_role("button", name=name)).first


def task(page: Page, title: str) -> Locator:
    """A task's part of the quest page: the nearest block around its heading that holds a form
    (its evidence form, or its confirm button)."""
    return page.get_by_role("heading", name=title).locator("xpath=ancestor::*[.//form][1]")
