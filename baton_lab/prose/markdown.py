"""A markdown document as baton_lab reads it: front matter, the section tree, list items, tables — each with its
line — from markdown-it-py's token stream (CommonMark, plus the front-matter and task-list plug-ins).

The parser, not a regex, decides what is a heading: a `# comment` inside a fenced bash block is code, a setext
heading (`Title` over `===`) is a heading, HTML blocks are skipped, CRLF is a line end. A *label* is a paragraph
that starts with bold text ending in a colon (`**Blockers:**`, `**Key decisions:**`): handoffs use labels as
sub-headings, so a label heads the lists that follow it until the next heading or label. A bare XML-ish tag on
its own (`<remaining_work>` … `</remaining_work>`, GSD's `.continue-here.md`) opens and closes a section named
after the tag (`remaining work`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin
from mdit_py_plugins.tasklists import tasklists_plugin


@dataclass(frozen=True, slots=True)
class Heading:
    level: int          # 1-6; a label is one level below the heading it sits under
    text: str
    line: int           # 1-based
    kind: str = "heading"   # heading | label | tag (an XML-ish section tag)


@dataclass(slots=True)
class ListItem:
    text: str
    line: int
    checked: bool | None     # None: no checkbox
    ordered: bool
    depth: int               # 0 for a top-level item
    parent: int | None       # index of the enclosing item in `MarkdownDoc.items`
    path: tuple[Heading, ...]   # enclosing headings (outermost first), then the label, if any
    number: int | None = None   # the item's number in an ordered list


@dataclass(slots=True)
class Table:
    header: list[str]
    rows: list[list[str]]
    line: int
    row_lines: list[int]
    path: tuple[Heading, ...]


@dataclass(slots=True)
class Paragraph:
    text: str
    line: int
    path: tuple[Heading, ...]


@dataclass(slots=True)
class MarkdownDoc:
    front_matter: str | None = None          # the YAML text between the `---` fences, unparsed
    front_matter_line: int | None = None
    headings: list[Heading] = field(default_factory=list)
    items: list[ListItem] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)
    title: str | None = None                 # the first level-1 heading

    def under(self, heading: Heading) -> list[ListItem]:
        return [item for item in self.items if heading in item.path]


# A line that is only an XML-ish section tag (`<remaining_work>`, `</blockers>`): CommonMark reads such a tag as
# paragraph text (underscores are not allowed in HTML tag names), so the lazy-continuation rules would glue it to
# the item before it. It is rewritten, in place and on the same line, into an HTML comment block the parser keeps
# apart; `parse` turns the comment into a section.
_SECTION_TAG_LINE = re.compile(r"^<(/?)([a-z]+(?:_[a-z]+)+|context|blockers|decisions)>[ \t]*$", re.MULTILINE)
_TAG = re.compile(r"^<!--section:(/?)([\w-]+)-->$")


_INLINE_CACHE: dict[str, list[Token]] = {}
_INLINE_CACHE_LIMIT = 200_000


def _cached_inline(state: Any) -> None:
    """markdown-it's inline stage, remembering the children of each inline text: consecutive versions of a handoff
    share most of their lines, and inline parsing is most of the parse. (Link reference definitions are read
    per document; a cached line that used one keeps the first document's reading, which only changes a link's
    target, never its text.) The task-list rule that runs after this one rewrites a fresh line's children once;
    on a cached line it finds the checkbox already in place."""
    for token in state.tokens:
        if token.type != "inline":
            continue
        hit = _INLINE_CACHE.get(token.content)
        if hit is None:
            children: list[Token] = []
            state.md.inline.parse(token.content, state.md, state.env, children)
            if len(_INLINE_CACHE) >= _INLINE_CACHE_LIMIT:
                _INLINE_CACHE.clear()
            _INLINE_CACHE[token.content] = hit = children
        token.children = hit


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark").enable("table").use(front_matter_plugin).use(tasklists_plugin)
    md.core.ruler.at("inline", _cached_inline)
    return md


def plain_text(inline: Token | None) -> str:
    """An inline token's text without markup: code spans keep their content, links their text, images their alt."""
    if inline is None or not inline.children:
        return (inline.content if inline is not None else "").strip()
    out: list[str] = []
    for child in inline.children:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "image":
            out.append(child.content)
    return " ".join("".join(out).split())


def _label(inline: Token) -> tuple[str, str] | None:
    """(label, rest) when the paragraph opens with bold text ending in a colon (`**Blockers:** …`)."""
    children = list(inline.children or [])
    while children and children[0].type == "text" and not children[0].content.strip():
        children.pop(0)  # markdown-it 4 opens an inline with an empty text token
    if len(children) < 3 or children[0].type != "strong_open":
        return None
    try:
        close = next(i for i, c in enumerate(children) if c.type == "strong_close")
    except StopIteration:
        return None
    label = "".join(c.content for c in children[1:close] if c.type in ("text", "code_inline")).strip()
    rest_tokens = children[close + 1:]
    rest = plain_text(Token("inline", "", 0, children=rest_tokens)) if rest_tokens else ""
    if label.endswith(":"):
        return label[:-1].strip(), rest
    if rest.startswith(":"):
        return label, rest[1:].strip()
    return None


def _checkbox(inline: Token | None) -> bool | None:
    for child in (inline.children or []) if inline is not None else []:
        if child.type == "html_inline" and "task-list-item-checkbox" in child.content:
            return 'checked="checked"' in child.content
    return None


def parse(text: str) -> MarkdownDoc:
    """Read a markdown document; never raises on any text."""
    text = text.lstrip("\ufeff")
    if "<" in text:
        text = _SECTION_TAG_LINE.sub(lambda m: f"<!--section:{m.group(1)}{m.group(2)}-->", text)
    tokens = _parser().parse(text)
    doc = MarkdownDoc()
    headings: list[Heading] = []       # the open heading chain
    label: Heading | None = None
    lists: list[tuple[bool, int]] = []     # (ordered, start number) per open list
    item_stack: list[int] = []             # indices of open list items
    pending: list[dict[str, Any]] = []     # open list items waiting for their first inline
    table: Table | None = None
    row: list[str] | None = None
    row_line = 0

    def path() -> tuple[Heading, ...]:
        return (*headings, label) if label is not None else tuple(headings)

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        line = tok.map[0] + 1 if tok.map else 0
        kind = tok.type
        if kind == "front_matter":
            doc.front_matter, doc.front_matter_line = tok.content, line
        elif kind == "heading_open":
            level = int(tok.tag[1])
            heading = Heading(level, plain_text(tokens[i + 1]), line)
            while headings and headings[-1].level >= level:
                headings.pop()
            headings.append(heading)
            label = None
            doc.headings.append(heading)
            if level == 1 and doc.title is None:
                doc.title = heading.text
            i += 3
            continue
        elif kind == "html_block" and not item_stack and (tag := _TAG.match(tok.content.strip())):
            closing, name = tag.groups()
            while headings and headings[-1].kind == "tag" and closing:
                headings.pop()
            if closing:
                headings.clear()
            else:
                headings = [Heading(1, name.replace("_", " ").replace("-", " "), line, "tag")]
                doc.headings.append(headings[0])
            label = None
        elif kind in ("bullet_list_open", "ordered_list_open"):
            start = tok.attrGet("start")
            lists.append((kind == "ordered_list_open", int(start) if isinstance(start, (int, str)) and str(start).isdigit() else 1))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            ordered, start = lists[-1]
            number = None
            if ordered:
                info = tok.info
                number = int(info) if info.isdigit() else None
            pending.append({"line": line, "ordered": ordered, "depth": len(lists) - 1,
                            "parent": item_stack[-1] if item_stack else None, "number": number})
            doc.items.append(ListItem("", line, None, ordered, len(lists) - 1,
                                      item_stack[-1] if item_stack else None, path(), number))
            item_stack.append(len(doc.items) - 1)
        elif kind == "list_item_close":
            item_stack.pop()
            pending.pop()
        elif kind == "inline" and item_stack and pending and pending[-1].get("done") is None \
                and tokens[i - 1].type == "paragraph_open":
            item = doc.items[item_stack[-1]]
            item.text, item.checked = plain_text(tok), _checkbox(tok)
            pending[-1]["done"] = True
        elif kind == "inline" and not item_stack and table is None and tokens[i - 1].type == "paragraph_open":
            found = _label(tok)
            if found is not None:
                name, rest = found
                parent_level = headings[-1].level if headings else 0
                label = Heading(parent_level + 1, name, line, "label")
                doc.headings.append(label)
                if rest:
                    doc.paragraphs.append(Paragraph(rest, line, path()))
            else:
                doc.paragraphs.append(Paragraph(plain_text(tok), line, path()))
        elif kind == "table_open":
            table = Table([], [], line, [], path())
        elif kind == "tr_open":
            row, row_line = [], line
        elif kind == "inline" and row is not None:
            row.append(plain_text(tok))
        elif kind == "tr_close" and table is not None and row is not None:
            if not table.header and tokens[i - 1].type in ("th_close",) and not table.rows:
                table.header = row
            else:
                table.rows.append(row)
                table.row_lines.append(row_line)
            row = None
        elif kind == "table_close" and table is not None:
            doc.tables.append(table)
            table = None
        i += 1
    return doc


@lru_cache(maxsize=1 << 14)
def normal_heading(text: str) -> str:
    """A heading as the tier mapping compares it: case-folded, emoji, symbols and punctuation removed, dates and
    parenthesised asides kept out (`## ▶️ Next action (2026-05-01)` -> `next action`)."""
    text = unicodedata.normalize("NFKC", text)
    depth, kept = 0, []
    for ch in text:
        if ch in "(（":
            depth += 1
        elif ch in ")）":
            depth = max(0, depth - 1)
        elif depth == 0:
            kept.append(ch)
    cleaned = "".join(ch if unicodedata.category(ch)[0] in "LN" else " " for ch in "".join(kept))
    return " ".join(cleaned.casefold().split())


__all__ = ["Heading", "ListItem", "MarkdownDoc", "Paragraph", "Table", "normal_heading", "parse", "plain_text"]
