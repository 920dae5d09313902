"""The markdown reader on a real parser: the section tree, list items with checkbox, nesting and line, tables,
front matter, and the cases regexes get wrong (fenced code, setext headings, CRLF, HTML blocks, emoji headings)."""

from __future__ import annotations

from baton_lab.importers.prose import markdown_items, provisional_ids
from baton_lab.prose.markdown import normal_heading, parse
from baton_lab.prose.tiers import TierMapping, default_mapping

DOC = """---
title: Session resume
snapshot: 2026-05-01
baton: true
---

Handoff
=======

## ▶️ Next action

1. Check PR #68 council
2. [ ] Run the **benchmark**
   - [x] generate the history
   - note: use `nice`

```bash
# this is a comment, not a heading
- not an item either
```

<div>
# not a heading inside HTML
</div>

**Blockers:**
- waiting on the staging credentials

Setext section
--------------

| Priority | Action |
|---|---|
| 🔴 | Watch the Reddit thread |
| 🟢 | Evaluate the npm scope move |
"""


def test_section_tree_items_and_lines() -> None:
    doc = parse(DOC)
    assert doc.front_matter is not None and "baton: true" in doc.front_matter and doc.front_matter_line == 1
    assert [(h.level, h.text, h.line, h.kind) for h in doc.headings] == [
        (1, "Handoff", 7, "heading"), (2, "▶️ Next action", 10, "heading"), (3, "Blockers", 26, "label"),
        (2, "Setext section", 29, "heading")]
    assert [(i.text, i.line, i.checked, i.ordered, i.depth, i.number) for i in doc.items] == [
        ("Check PR #68 council", 12, None, True, 0, 1),
        ("Run the benchmark", 13, False, True, 0, 2),
        ("generate the history", 14, True, False, 1, None),
        ("note: use nice", 15, None, False, 1, None),
        ("waiting on the staging credentials", 27, None, False, 0, None),
    ]
    assert doc.items[2].parent == 1 and doc.items[4].path[-1].text == "Blockers"
    (table,) = doc.tables
    assert table.header == ["Priority", "Action"] and table.rows[0] == ["🔴", "Watch the Reddit thread"]
    assert table.row_lines == [34, 35] and table.path[-1].text == "Setext section"


def test_crlf_and_bom_give_the_same_tree() -> None:
    plain, crlf = parse(DOC), parse("\ufeff" + DOC.replace("\n", "\r\n"))
    assert [(h.text, h.line) for h in crlf.headings] == [(h.text, h.line) for h in plain.headings]
    assert [(i.text, i.line, i.checked) for i in crlf.items] == [(i.text, i.line, i.checked) for i in plain.items]


def test_items_are_placed_by_the_mapping() -> None:
    items, unmapped = markdown_items(parse(DOC))
    follow = items.by_tier["follow_ups"]
    assert [(f["text"], f["status"], f["line"], f.get("heading")) for f in follow] == [
        ("Check PR #68 council", "open", 12, "▶️ Next action"),
        ("Run the benchmark", "open", 13, "▶️ Next action"),
        ("generate the history", "done", 14, "▶️ Next action"),   # a nested checkbox is a sub-task
        ("waiting on the staging credentials", "blocked", 27, "Blockers"),
    ]
    assert follow[1]["details"] == ["note: use nice"]
    assert unmapped == ["Handoff", "Setext section"]     # kept as context, listed
    assert items.context_items == 2                       # the table rows under an unmapped heading


def test_tables_under_a_mapped_heading_are_items_with_priority() -> None:
    text = "## Next Session\n\n| 優先級 | 行動 |\n|---|---|\n| 🔴 | **關注 Reddit 帖回覆** |\n| 🟡 | DM 作者 |\n"
    items, _ = markdown_items(parse(text))
    assert [(f["text"], f["priority"], f["line"]) for f in items.by_tier["follow_ups"]] == [
        ("關注 Reddit 帖回覆", "high", 5), ("DM 作者", "medium", 6)]


def test_heading_normalisation_and_chinese_headings() -> None:
    assert normal_heading("## ▶️ Next action (2026-05-01)") == "next action"
    mapping = default_mapping()
    place = lambda *texts: mapping.place([parse(f"# {t}\n").headings[0] for t in texts])  # noqa: E731
    assert place("Immediate next actions (in order)").tier == "follow_ups"
    assert place("Phase 08.7 Decisions").tier == "decisions"
    assert place("下一步").tier == "follow_ups" and place("關鍵決策").tier == "decisions"
    assert place("In-flight / needs verification").tier == "open_loops"
    assert place("Failed Approaches").tier == "patterns"
    assert (place("Blockers/Concerns").tier, place("Blockers/Concerns").status) == ("follow_ups", "blocked")
    # a past session's plan in the historical log is context; its decisions still count
    assert place("Historical session log", "2026-04-28", "Next Steps").tier == "context"
    assert place("Historical session log", "2026-04-28", "Key decisions").tier == "decisions"
    assert place("Random notes").tier == "context"


def test_a_user_mapping_is_data() -> None:
    mapping = TierMapping.from_toml('[[tier]]\ntier = "patterns"\nheadings = ["war stories"]\n', "test")
    assert mapping.place([parse("## War stories\n").headings[0]]).tier == "patterns"


def test_a_huge_handoff_then_a_short_notice() -> None:
    big = "# Handoff\n\n## Next Steps\n" + "".join(f"- item number {i} about module {i % 97}\n" for i in range(3000))
    assert len(big) > 100_000
    items, _ = markdown_items(parse(big))
    assert len(items.by_tier["follow_ups"]) == 3000
    items, unmapped = markdown_items(parse("This file moved to docs/handoff/. Do not edit.\n"))
    assert all(not v for v in items.by_tier.values()) and unmapped == []


def test_provisional_ids_are_text_hashes_with_repeat_suffixes() -> None:
    ids = provisional_ids(["Fix **it**", "fix it", "other"])
    assert ids[0] != ids[2] and ids[1] == ids[0] + "#2"
