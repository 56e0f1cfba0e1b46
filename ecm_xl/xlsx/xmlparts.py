"""Parse the XML parts a write changes with expat, and splice the changes in.

The writer never looks for tags with patterns. Every part it rewrites is
parsed in full by expat (the C parser behind xml.etree, in the standard
library), which proves it well-formed and reports where each element starts
(`CurrentByteIndex`). Comments, processing instructions and CDATA sections
are the parser's business, so text inside them is never taken for a tag.

The new part is the old bytes with edits spliced in at those positions:
what the writer does not change (namespace prefixes and declarations,
`mc:Ignorable`, `extLst`, attribute quoting, whitespace, comments) stays byte
for byte. What it changes is serialized afresh: a start tag from its parsed
attributes (`start_tag`), cells from values (cells.py).

Only UTF-8 parts are edited (Excel writes nothing else); a part in another
encoding is refused by name rather than rewritten wrongly.
"""
from __future__ import annotations

import pyexpat
from typing import NamedTuple

from .cells import attr_esc
from .package import WorkbookError

MAIN_NS = frozenset({"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                     "http://purl.oclc.org/ooxml/spreadsheetml/main"})
XML_NS = "http://www.w3.org/XML/1998/namespace"


def parser(pkg_path, part: str):
    """An expat parser that refuses a DOCTYPE and any encoding but UTF-8."""
    p = pyexpat.ParserCreate()
    p.ordered_attributes = True
    p.buffer_text = True

    def decl(_version, encoding, _standalone):
        if encoding and encoding.replace("_", "-").lower() not in ("utf-8", "utf8"):
            raise WorkbookError(pkg_path, f"part {part} is written in the {encoding} encoding, which "
                                          "this program does not rewrite; save the workbook again in Excel")

    def doctype(*_a):
        raise WorkbookError(pkg_path, f"part {part} declares a DOCTYPE (possible entity bomb); "
                                      "Excel never writes one, refused")

    p.XmlDeclHandler = decl
    p.StartDoctypeDeclHandler = doctype
    return p


def parse(p, data: bytes, pkg_path, part: str):
    """Run parser p over data, turning a parse error into a one-line WorkbookError."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise WorkbookError(pkg_path, f"part {part} is UTF-16 text, which this program does not "
                                      "rewrite; save the workbook again in Excel")
    try:
        p.Parse(data, True)
    except pyexpat.ExpatError as e:
        raise WorkbookError(pkg_path, f"is damaged: part {part} is not well-formed XML "
                                      f"(line {e.lineno}, column {e.offset + 1}: "
                                      f"{pyexpat.ErrorString(e.code)})") from None


def tag_end(data: bytes, start: int) -> int:
    """The offset just past the start tag that the parser reported at `start`.

    The tag is already known to be well-formed, so '>' ends it unless it sits in a
    quoted attribute value (where XML allows it).
    """
    i = start + 1
    find = data.find
    while True:
        gt = find(b">", i)
        dq = find(b'"', i, gt)
        sq = find(b"'", i, gt)
        if dq < 0 and sq < 0:
            return gt + 1
        q = dq if sq < 0 or (0 <= dq < sq) else sq
        i = find(data[q:q + 1], q + 1) + 1


def element_end(data: bytes, start: int, end_event: int) -> tuple:
    """(end of the start tag, end of the element) for an element the parser saw
    start at `start` and end at `end_event` (expat's index at its end event)."""
    te = tag_end(data, start)
    if data[te - 2] == 0x2F:                  # '/>': an empty-element tag
        return te, te
    return te, data.index(b">", end_event) + 1


def split_qname(qname: str) -> tuple:
    """('x', 'row') for 'x:row'; ('', 'row') for 'row'."""
    p, _, local = qname.rpartition(":")
    return p, local


def declared(attrs: list, scope: dict) -> dict:
    """The namespace scope inside an element with these (flat, ordered) attributes."""
    new = None
    for k in range(0, len(attrs), 2):
        name = attrs[k]
        if name == "xmlns" or name.startswith("xmlns:"):
            if new is None:
                new = dict(scope)
            new[name[6:]] = attrs[k + 1]
    return scope if new is None else new


def start_tag(qname: str, attrs: list, empty: bool = False) -> str:
    """A start tag serialized from flat, ordered (name, value, ...) attributes."""
    parts = [f"<{qname}"]
    for k in range(0, len(attrs), 2):
        parts.append(f' {attrs[k]}="{attr_esc(attrs[k + 1])}"')
    parts.append("/>" if empty else ">")
    return "".join(parts)


def with_attr(attrs: list, name: str, value: str, first: bool = False) -> list:
    """A copy of flat attributes with `name` set (kept in place, else added)."""
    out = list(attrs)
    for k in range(0, len(out), 2):
        if out[k] == name:
            out[k + 1] = value
            return out
    return [name, value] + out if first else out + [name, value]


def get_attr(attrs: list, name: str, default=None):
    for k in range(0, len(attrs), 2):
        if attrs[k] == name:
            return attrs[k + 1]
    return default


class Element(NamedTuple):
    """One element of a small part, as the parser found it."""
    qname: str
    ns: str                  # namespace URI ('' for none)
    local: str
    attrs: list              # flat, ordered: [name, value, ...] as written (xmlns included)
    start: int               # offset of '<'
    tag_end: int             # offset just past the start tag
    end: int                 # offset just past the element
    depth: int               # 0 for the root
    parent: int              # index of the parent in the list (-1 for the root)
    text: str                # character data directly inside (collected only when asked)
    scope: dict              # prefix -> namespace in scope inside the element

    @property
    def empty(self) -> bool:
        return self.tag_end == self.end

    def replace_attr(self, name: str, value: str) -> tuple:
        """An edit (start, end, bytes) that sets one attribute of this element's start tag."""
        return (self.start, self.tag_end,
                start_tag(self.qname, with_attr(self.attrs, name, value), self.empty).encode("utf-8"))


def elements(data: bytes, pkg_path, part: str, *, text_of=frozenset()) -> list:
    """Every element of a (small) part in document order, with its byte span.

    text_of: local names whose character data to collect.
    """
    p = parser(pkg_path, part)
    out, stack, pending, texts = [], [], [], {}

    def start(qname, attrs):
        parent = stack[-1] if stack else -1
        scope = declared(attrs, out[parent][10] if parent >= 0 else {"xml": XML_NS})
        prefix, local = split_qname(qname)
        out.append([qname, scope.get(prefix, ""), local, attrs, p.CurrentByteIndex, 0, 0, len(stack),
                    parent, "", scope])
        stack.append(len(out) - 1)
        if local in text_of:
            texts[len(out) - 1] = []
            p.CharacterDataHandler = texts[len(out) - 1].append

    def end(_qname):
        i = stack.pop()
        pending.append((i, p.CurrentByteIndex))
        if i in texts:
            p.CharacterDataHandler = None

    p.StartElementHandler, p.EndElementHandler = start, end
    parse(p, data, pkg_path, part)
    for i, end_event in pending:
        rec = out[i]
        rec[5], rec[6] = element_end(data, rec[4], end_event)
        if i in texts:
            rec[9] = "".join(texts[i])
    return [Element(*rec) for rec in out]


def splice(data: bytes, edits) -> list:
    """data with edits [(start, end, bytes)] (sorted, not overlapping) applied, as pieces."""
    out, pos = [], 0
    view = memoryview(data)
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1])):
        if start < pos:
            raise ValueError("overlapping edits")
        out.append(view[pos:start])
        out.append(new)
        pos = end
    out.append(view[pos:])
    return out


def rewrite(data: bytes, edits) -> bytes:
    """data with the edits applied, as one bytes object (for small parts)."""
    return b"".join(splice(data, edits))


def first(els: list, local: str):
    """The first element named `local` (any prefix), or None."""
    return next((e for e in els if e.local == local), None)


def prefix_for(el: Element, ns: str):
    """A prefix bound to namespace `ns` where `el` stands ('' for the default), or None."""
    return next((p for p, uri in el.scope.items() if uri == ns), None)


def append_child(data: bytes, pkg_path, part: str, local: str, item: str) -> bytes:
    """data with `item` (XML text) added as the last child of the first element named
    `local`, found by the parser (text in a comment or CDATA is never taken for it).
    An empty element (<sheets/>) is opened for it."""
    els = elements(data, pkg_path, part)
    el = first(els, local)
    if el is None:
        raise WorkbookError(pkg_path, f"is damaged: part {part} has no {local} element")
    if el.empty:
        new = start_tag(el.qname, el.attrs) + item + f"</{el.qname}>"
        return rewrite(data, [(el.start, el.end, new.encode("utf-8"))])
    at = data.rindex(b"</", el.tag_end, el.end)
    return rewrite(data, [(at, at, item.encode("utf-8"))])
