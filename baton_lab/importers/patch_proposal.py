"""v2 `_patch_proposal` documents from agents without tools: recorded as proposals, never applied."""

from __future__ import annotations

from typing import Any

from ._shape import text_or_none
from .base import Record
from .contract import Format, NotThisFormat, ProposalDoc, Rules

VERSION = "2.0-draft"


def read(doc: Any, record: Record) -> ProposalDoc:
    if not isinstance(doc, dict) or not isinstance(doc.get("_patch_proposal"), dict):
        raise NotThisFormat('a patch proposal is an object with a "_patch_proposal" object')
    proposal = doc["_patch_proposal"]
    return ProposalDoc(proposal=proposal, namespace=text_or_none(proposal.get("namespace") or doc.get("namespace")))


FORMAT = Format(
    name="patch-proposal",
    version=VERSION,
    detection='a JSON object with a "_patch_proposal" object (submitted_by, submitted_at, patches[])',
    description="SPEC-v2 §6 patch proposal: increment/append/update ops, stored in `patch_proposals`.",
    detect=lambda doc, record: isinstance(doc, dict) and isinstance(doc.get("_patch_proposal"), dict),
    read=read,
    # Proposals are stored in `patch_proposals`, never as state: no tiers, no history.
    rules=Rules(tiers={"patch_proposals": "_patch_proposal.patches[]"}, absence={}, capabilities=frozenset()),
)
