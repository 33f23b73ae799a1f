"""The activity feed in Chromium against the running system: an owner finds a teammate's joining
in the feed and marks everything read; the teammate renames the team and the item appears on top
of the open feed without a reload, announced politely, while the header's unread badge rises;
the owner marks it read (the badge falls) and dismisses it from the keyboard, the focus staying in
the feed, filters the feed by kind and unread, and opens an item's subject. The feed passes axe-core
at 375 and 1280 px without a sideways scroll. Two tabs of one person share one stream: both show a
new item live, and when the tab holding the stream closes, the other opens its own. Screenshots of
each stage are kept in ``test-output/browser/<test>/``."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Locator, Page, Request, expect

from agentbus_shared.testing.stack import Stack

from .browser_support import (
    PASSWORD,
    BrowserErrors,
    Stages,
    findings_at_every_width,
    invite_a_teammate,
    join_by_invite,
    sign_up,
    verify_email,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

OWNER = "ada.feed@example.com"
TAB_OWNER = "grace.tabs@example.com"
STREAM = "/api/v1/activity/stream"
TEAMMATE = "lin.feed@example.com"
RENAMED = "renamed the workspace to Engines Ltd"


def activity_link(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=re.compile("^Activity")
    )


def feed(page: Page) -> Locator:
    return page.get_by_role("list", name="Activity feed")


def open_the_feed(page: Page, stages: Stages) -> None:
    activity_link(page).click()
    expect(page.get_by_role("heading", name="Activity", level=1)).to_be_visible()
    expect(feed(page)).to_contain_text("joined the workspace")
    expect(activity_link(page)).to_have_accessible_name(re.compile(r"\d+ unread activity items?$"))
    expect(page.get_by_role("status").filter(has_text="Live:")).to_have_text(
        "Live: changes show here as they happen."
    )
    stages.done("feed")


def mark_everything_read(page: Page) -> None:
    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_text(re.compile(r"^\d+ items? marked read$"))).to_be_visible()
    expect(activity_link(page)).to_have_accessible_name("Activity")
    expect(page.get_by_role("button", name="Mark all read")).to_be_disabled()


def rename_the_team(stack: Stack, email: str, name: str, slug: str) -> None:
    """``email`` (an admin) renames their team from elsewhere: through the API with their own
    session."""
    with stack.client() as client:
        tokens = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        assert tokens.status_code == 200, tokens.text
        renamed = client.patch(
            "/api/v1/tenants/current",
            json={"name": name, "slug": slug},
            headers={"Authorization": f"Bearer {tokens.json()['access_token']}"},
        )
        assert renamed.status_code == 200, renamed.text


def the_teammate_renames_the_team(stack: Stack) -> None:
    # Slugs are unique across the browser suite's one stack: not another test's.
    rename_the_team(stack, TEAMMATE, "Engines Ltd", "engines-activity")


def the_rename_appears_live(page: Page, stages: Stages) -> None:
    url = page.url
    expect(feed(page).get_by_role("listitem").first).to_contain_text(RENAMED)
    expect(activity_link(page)).to_have_accessible_name(re.compile(r"1 unread activity item$"))
    expect(page.get_by_role("status").filter(has_text="New activity:")).to_contain_text(RENAMED)
    assert page.url == url  # no reload, no navigation
    stages.done("arrived-live")


def mark_it_read_then_dismiss_it(page: Page, stages: Stages) -> None:
    first = feed(page).get_by_role("listitem").first
    first.get_by_role("button", name=re.compile(f"^Mark read: .*{RENAMED}")).press("Enter")
    expect(activity_link(page)).to_have_accessible_name("Activity")
    expect(first.get_by_role("button", name=re.compile("^Mark read"))).to_have_count(0)
    # The focus stays in the feed: on the item's Dismiss, then on the next item's.
    dismiss = first.get_by_role("button", name=re.compile(f"^Dismiss: .*{RENAMED}"))
    expect(dismiss).to_be_focused()
    page.keyboard.press("Enter")
    expect(feed(page)).not_to_contain_text(RENAMED)
    next_item = feed(page).get_by_role("listitem").first
    expect(next_item.get_by_role("button", name=re.compile("^Dismiss: "))).to_be_focused()
    stages.done("dismissed")


def filter_the_feed(page: Page, stages: Stages) -> None:
    page.get_by_label("Show").select_option("member.changed")
    items = feed(page).get_by_role("listitem")
    expect(items.first).to_contain_text("joined the workspace")
    for text in items.all_inner_texts():
        assert "Members joined, left or changed role" in text, text
    page.get_by_label("Unread only").check()
    expect(page.get_by_text("No activity matches these filters.")).to_be_visible()
    stages.done("filtered")
    page.get_by_label("Show").select_option("")
    expect(page.get_by_text("You have read everything.")).to_be_visible()
    page.get_by_label("Unread only").uncheck()


def open_an_items_subject(page: Page) -> None:
    feed(page).get_by_role("link", name=re.compile("joined the workspace")).first.click()
    expect(page.get_by_role("heading", name="Team", level=1)).to_be_visible()


def test_the_owner_follows_the_teams_activity_live(
    page: Page, browser: Browser, stack: Stack, stages: Stages, browser_errors: BrowserErrors
) -> None:
    sign_up(page, stack, OWNER)
    verify_email(page, stack, OWNER)
    invite_a_teammate(page, stages, TEAMMATE)
    join_by_invite(browser, stack, browser_errors, TEAMMATE, "Lin")
    open_the_feed(page, stages)
    mark_everything_read(page)
    the_teammate_renames_the_team(stack)
    the_rename_appears_live(page, stages)
    mark_it_read_then_dismiss_it(page, stages)
    filter_the_feed(page, stages)

    def feed_shown() -> None:
        page.goto(stack.gateway_url + "/activity")
        expect(feed(page)).to_be_visible()

    assert findings_at_every_width(page, feed_shown) == {}
    open_an_items_subject(page)


def the_feed_is_live(page: Page) -> None:
    expect(page.get_by_role("status").filter(has_text="Live:")).to_have_text(
        "Live: changes show here as they happen."
    )


def shown_live(page: Page, summary: str) -> None:
    expect(feed(page).get_by_role("listitem").first).to_contain_text(summary)


def test_the_tabs_of_one_person_share_one_live_stream(page: Page, stack: Stack) -> None:
    streams: list[str] = []

    def opened(request: Request) -> None:
        if STREAM in request.url:
            streams.append(request.url)

    page.context.on("request", opened)
    sign_up(page, stack, TAB_OWNER)
    verify_email(page, stack, TAB_OWNER)
    activity_link(page).click()
    the_feed_is_live(page)
    other = page.context.new_page()
    other.goto(stack.gateway_url + "/activity")
    the_feed_is_live(other)

    rename_the_team(stack, TAB_OWNER, "Engines Tabs", "engines-tabs")
    for tab in (page, other):
        shown_live(tab, "renamed the workspace to Engines Tabs")
    assert len(streams) == 1, streams

    with other.expect_response(lambda response: STREAM in response.url):
        page.close()
    rename_the_team(stack, TAB_OWNER, "Engines Alone", "engines-alone")
    shown_live(other, "renamed the workspace to Engines Alone")
    assert len(streams) == 2, streams
