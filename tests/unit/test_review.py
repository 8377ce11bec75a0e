"""The review item's state machine, the publish verdict and who may review what."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import DomainError, ErrorCode
from domain.identity import Role, User
from domain.jobs import PostImage
from domain.platforms import PlatformConnection, PlatformType
from domain.review import (
    ReviewItem,
    ReviewStatus,
    Verdict,
    check_can_review,
    new_review_item,
    publish_verdict,
)

T0 = 1_700_000_000.0


def _item(platform_type: PlatformType = PlatformType.MASTODON, original: str | None = None) -> ReviewItem:
    platform = PlatformConnection(1, 7, "mine", platform_type, "https://example.social")
    post = PostImage("s1", "https://example.social/@a/s1", "https://example.social/m/1.png", "s1", "m1", original)
    return new_review_item("r1", platform, "j1", post, "  A cat.  ", T0)


def test_a_new_item_is_pending_with_the_trimmed_caption() -> None:
    item = _item()
    assert item.status is ReviewStatus.PENDING and item.caption == item.generated_text == "A cat."
    assert item.version == 1 and not item.edited


def test_the_happy_path_bumps_the_version_at_each_step() -> None:
    item = _item().edit("A grey cat.", 7, T0 + 1)
    assert item.edited and item.status is ReviewStatus.PENDING and item.version == 2
    item = item.approve(7, T0 + 2, batch_id="b")
    item = item.claim("node", T0 + 3)
    assert item.status is ReviewStatus.PUBLISHING and item.attempts == 1 and item.claimed_by == "node"
    item = item.published(T0 + 4)
    assert item.status is ReviewStatus.PUBLISHED and item.published_at == T0 + 4 and item.version == 5
    with pytest.raises(DomainError) as refused:
        item.edit("late", 7, T0 + 5)
    assert refused.value.code is ErrorCode.INVALID_REVIEW_STATE


def test_a_failed_publish_may_be_approved_again_and_a_rejected_item_reopened() -> None:
    failed = _item().approve(7, T0).claim("n", T0).failed("PLATFORM_CONNECTION_ERROR", "HTTP 503", True, T0)
    assert failed.retry_possible and failed.status is ReviewStatus.FAILED
    again = failed.approve(7, T0 + 1)
    assert again.status is ReviewStatus.APPROVED and again.error_type is None
    assert _item().reject(7, T0).approve(7, T0 + 1).status is ReviewStatus.APPROVED


@pytest.mark.parametrize("step", ["edit", "approve", "reject"])
def test_a_publishing_item_cannot_be_reviewed(step: str) -> None:
    item = _item().approve(7, T0).claim("n", T0)
    with pytest.raises(DomainError):
        if step == "edit":
            item.edit("x", 7, T0)
        elif step == "approve":
            item.approve(7, T0)
        else:
            item.reject(7, T0)


def test_the_platform_limit_is_enforced_on_edits_and_cut_on_generation() -> None:
    mastodon = _item(PlatformType.MASTODON)
    assert mastodon.edit("x" * 1500, 7, T0).caption == "x" * 1500
    with pytest.raises(DomainError) as refused:
        mastodon.edit("x" * 1501, 7, T0)
    assert refused.value.details == {"field": "caption", "limit": 1500, "length": 1501}
    with pytest.raises(DomainError):
        _item(PlatformType.PIXELFED).approve(7, T0, caption="y" * 1001)
    with pytest.raises(DomainError):
        mastodon.edit("   ", 7, T0)
    assert len(mastodon.regenerated("z" * 3000, 7, T0).caption) == 1500


def test_the_verdict_never_overwrites_a_persons_description() -> None:
    item = _item(original=None).edit("Ours.", 7, T0)
    assert publish_verdict(item, None) is Verdict.WRITE
    assert publish_verdict(item, "  ") is Verdict.WRITE
    assert publish_verdict(item, "Ours.") is Verdict.ALREADY_THERE
    assert publish_verdict(item, "Theirs.") is Verdict.KEEP_THEIRS
    recaptioned = _item(original="Old words.").edit("Ours.", 7, T0)  # reprocess_existing: replacing it was asked for
    assert publish_verdict(recaptioned, "Old words.") is Verdict.WRITE
    assert publish_verdict(recaptioned, "New words a person wrote.") is Verdict.KEEP_THEIRS


@given(st.text(max_size=50), st.text(max_size=50))
def test_the_verdict_writes_only_over_nothing_or_the_original(current: str, original: str) -> None:
    item = _item(original=original or None).edit("Ours.", 7, T0)
    verdict = publish_verdict(item, current)
    if verdict is Verdict.WRITE:
        assert current.strip() in ("", original.strip())


@pytest.mark.parametrize(
    ("role", "owner", "allowed"),
    [
        (Role.ADMIN, 99, True),
        (Role.MODERATOR, 7, True),
        (Role.REVIEWER, 7, True),
        (Role.MODERATOR, 99, False),
        (Role.REVIEWER, 99, False),
        (Role.VIEWER, 7, False),
    ],
)
def test_who_may_review(role: Role, owner: int, allowed: bool) -> None:
    actor = User(7, "someone", role)
    if allowed:
        check_can_review(actor, owner)
    else:
        with pytest.raises(DomainError) as refused:
            check_can_review(actor, owner)
        assert refused.value.code is ErrorCode.AUTH_INSUFFICIENT_PRIVILEGES
