"""Feature flags in Chromium against the running system: a team's owner sees what the plan
includes on the billing page and can create service accounts (the free plan includes them); an
operator turns service accounts off for that team on the tenant's page; the owner, on the next
visit, finds the create form replaced by a note linking to the plans, and the billing page no
longer lists the feature. The operators' overrides and the owner's screens pass axe-core at 375
and 1280 px without a sideways scroll."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from agentbus_shared.testing.stack import Stack

from .browser_support import (
    BrowserErrors,
    Stages,
    feature_overrides,
    findings_at_every_width,
    open_account,
    open_billing,
    open_the_team_as_operator,
    save_feature_overrides,
    sign_up,
    verify_email,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

OPERATOR = "olga.features-operator@example.com"
OWNER = "owen.features-owner@example.com"


def the_owner_has_service_accounts(owner: Page, stack: Stack) -> None:
    sign_up(owner, stack, OWNER)
    verify_email(owner, stack, OWNER)
    open_billing(owner)
    expect(owner.get_by_test_id("plan-features")).to_have_text(
        "Your plan includes: Chat, Service accounts"
    )
    open_account(owner)
    accounts = owner.get_by_role("region", name="Service accounts", exact=True)
    expect(accounts.get_by_role("button", name="Create service account")).to_be_visible()


def the_operator_turns_service_accounts_off(
    page: Page, stack: Stack, stages: Stages
) -> dict[str, list[str]]:
    open_the_team_as_operator(page, stack, OPERATOR, OWNER)
    overrides = feature_overrides(page)
    override = overrides.get_by_label("Override for Service accounts")
    expect(override).to_have_value("plan")
    override.select_option("off")
    found = {
        f"overrides@{w}": v
        for w, v in findings_at_every_width(page, lambda: expect(override).to_be_visible()).items()
    }
    stages.done("feature-overrides")
    save_feature_overrides(page, overrides)
    return found


def test_an_operators_override_changes_what_the_teams_owner_may_create(
    page: Page, browser: Browser, stack: Stack, stages: Stages, browser_errors: BrowserErrors
) -> None:
    theirs = browser.new_context()
    browser_errors.watch(theirs)
    owner = theirs.new_page()
    the_owner_has_service_accounts(owner, stack)

    found = the_operator_turns_service_accounts_off(page, stack, stages)

    owner.reload()
    accounts = owner.get_by_role("region", name="Service accounts", exact=True)
    note = accounts.get_by_test_id("not-in-plan-service_accounts")
    expect(note).to_contain_text("Creating service accounts needs a plan")
    expect(note.get_by_role("link", name="Compare plans")).to_be_visible()
    expect(accounts.get_by_role("button", name="Create service account")).to_have_count(0)
    found |= {
        f"owner-account@{w}": v
        for w, v in findings_at_every_width(owner, lambda: expect(note).to_be_visible()).items()
    }
    owner.screenshot(path=stages.folder / "owner-without-service-accounts.png", full_page=True)
    open_billing(owner)
    expect(owner.get_by_test_id("plan-features")).to_have_text("Your plan includes: Chat")
    theirs.close()

    assert found == {}
