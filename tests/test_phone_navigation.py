"""Phones (issue 15): the bottom tab bar, the "Messages" list of conversations and "Me"."""

from __future__ import annotations

import re

from helpers import html, logged_in


def _tab(page: str, label: str) -> str:
    """The tab bar's link named `label` (its opening tag and content)."""
    bar = page[page.index('class="tabbar"'):]
    bar = bar[: bar.index("</nav>")]
    tabs = [tab for tab in bar.split("<li>")[1:] if f"<span>{label}</span>" in tab]
    assert len(tabs) == 1, (label, bar)
    return tabs[0]


def test_the_tab_bar_marks_where_the_member_is(app, factory):
    anne = factory.member(language="en")
    client = logged_in(app, anne, language="en")
    page = html(client.get("/map"))
    assert 'aria-current="page"' in _tab(page, "Map")
    assert "aria-current" not in _tab(page, "Messages")
    page = html(client.get("/conversations/"))
    assert 'aria-current="page"' in _tab(page, "Messages")
    assert "aria-current" not in _tab(page, "Map")
    # Inside a section (the account belongs to "Me"): the tab says so without claiming the page.
    assert 'aria-current="true"' in _tab(html(client.get("/account/")), "Me")
    # Visitors have no tab bar.
    assert 'class="tabbar"' not in html(app.test_client().get("/"))


def test_messages_lists_the_members_conversations_newest_first_with_unread_marked(app, factory):
    anne, bruno, chloe = factory.member(first_name="Anne", language="en"), factory.member(first_name="Bruno", language="en"), factory.member(first_name="Chloe", language="en")
    ladder = factory.listing(anne, title="Ladder to lend")
    drill = factory.listing(chloe, title="Drill <b>wanted</b>", kind="request")
    # Bruno answered Anne's ladder, then Anne's reply is unread for him; he answered Chloe later.
    factory.conversation(bruno, ladder, "Is it free on Sunday?", replies=((anne, "Yes, come at ten."),))
    factory.conversation(bruno, drill, "I have one")
    page = html(logged_in(app, bruno, language="en").get("/conversations/"))
    assert page.index("Drill &lt;b&gt;wanted&lt;/b&gt;") < page.index("Ladder to lend")  # newest first, escaped
    ladder_item, drill_item = page.split('<li class="inbox-item')[:0:-1]
    assert ladder_item.startswith(' unread"') and "1 new" in ladder_item and "Yes, come at ten." in ladder_item
    assert drill_item.startswith('">') and "You: I have one" in drill_item
    # The Messages tab carries the count of unread conversations.
    assert '<span class="badge tab-badge" aria-hidden="true">1</span>' in _tab(page, "Messages")
    assert "1 unread conversation" in _tab(page, "Messages")
    # Anne sees only hers (with Bruno), nothing of Chloe's; Chloe sees hers, none unread for her
    # once she opened it.
    anne_page = html(logged_in(app, anne, language="en").get("/conversations/"))
    assert "Ladder to lend" in anne_page and "Drill" not in anne_page
    chloe_client = logged_in(app, chloe, language="en")
    assert "tab-badge" in html(chloe_client.get("/conversations/"))
    conversation_id = re.search(r'href="/conversations/(\d+)"', html(chloe_client.get("/conversations/"))).group(1)
    chloe_client.get(f"/conversations/{conversation_id}")
    assert "tab-badge" not in html(chloe_client.get("/conversations/"))


def test_messages_follow_the_trust_rule(app, factory):
    anne, bruno = factory.member(first_name="Anne", language="en"), factory.member(first_name="Bruno", language="en")
    factory.conversation(bruno, factory.listing(anne, title="Ladder to lend"), "Hello")
    assert "Ladder to lend" in html(logged_in(app, bruno).get("/conversations/"))
    factory.block(anne, bruno)
    for member in (anne, bruno):
        page = html(logged_in(app, member, language="en").get("/conversations/"))
        assert "Ladder to lend" not in page
        assert "No conversation yet" in page  # the empty state, with its one action
        assert 'href="/listings/"' in page[page.index("empty-state"):]


def test_messages_is_for_members_only(client):
    response = client.get("/conversations/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_me_gathers_the_members_places(app, factory):
    member = factory.member(language="en")
    page = html(logged_in(app, member, language="en").get("/me"))
    for path in ("/listings/mine", "/miles/", "/smiles/", "/account/", "/notifications/",
                 f"/members/{member.id}", "/members/me"):
        assert f'href="{path}"' in page, path
    # Their face at the top: the initials until they add a photo.
    assert 'class="avatar avatar-initials avatar-large"' in page and "See my profile" in page
    assert "/moderation/" not in page.split('id="main"')[1]
    moderator = factory.moderator()
    assert 'href="/moderation/"' in html(logged_in(app, moderator, language="en").get("/me"))
