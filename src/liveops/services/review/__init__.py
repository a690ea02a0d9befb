"""Human review: queues of sampled items, scores, agreement, and promotion to regression cases."""

from __future__ import annotations

from liveops.services.review.promote import (
    Promotion,
    promote,
)
from liveops.services.review.queue import (
    ReviewSource,
    ReviewSummary,
    agreement_of,
    create_review_from,
    get_item,
    get_review,
    item_view,
    latest_review,
    list_reviews,
    next_item,
    submit,
    summarise,
)
from liveops.services.review.source import (
    DEFAULT_LOW_CONFIDENCE,
    create_review,
    load_review_source,
)

__all__ = [
    "DEFAULT_LOW_CONFIDENCE",
    "Promotion",
    "ReviewSource",
    "ReviewSummary",
    "agreement_of",
    "create_review",
    "create_review_from",
    "get_item",
    "get_review",
    "item_view",
    "latest_review",
    "list_reviews",
    "load_review_source",
    "next_item",
    "promote",
    "submit",
    "summarise",
]
