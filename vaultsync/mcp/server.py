"""The MCP server: the tools' JSON schemas and descriptions, the ``vault://`` resources, stdio.

Built on the official SDK's :class:`mcp.server.mcpserver.MCPServer`, which derives each tool's
input schema from the typed signature below (the ``Field`` descriptions become the schema's
descriptions) and speaks the protocol. A tool is one function in :func:`tool_functions` plus a
line in :data:`READ_ONLY` when it writes nothing; :func:`build_server` registers them all, maps a
:class:`VaultsyncError` to a tool error an assistant can read (message and hint) and lists notes
as resources ``vault://path/to/note.md`` (the first :data:`MAX_RESOURCES` by path; every note
can be read). Stdout carries only the protocol: the SDK diverts stray writes to stderr.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import Resource, ToolAnnotations
from pydantic import Field

from vaultsync import __version__
from vaultsync.errors import VaultsyncError
from vaultsync.mcp.tools import DEFAULT_LIMIT, DEFAULT_PAGE_CHARS, MAX_LIMIT, MAX_PAGE_CHARS, VaultTools
from vaultsync.search import DEFAULT_LIMIT as SEARCH_LIMIT

log = logging.getLogger(__name__)

MAX_RESOURCES = 200
SCHEME = "vault://"
INSTRUCTIONS = (
    "An Obsidian vault of video notes, indexed with Obsidian's own link rules. Paths are vault-relative "
    "('folder/Note.md'; '.md' optional). Lists page with offset and limit; long notes page with offset and "
    "length (next_offset says where to go on). Writes (normalize with write, rename, export) need a server "
    "started with --allow-writes."
)

NotePath = Annotated[str, Field(description="Vault-relative path of a note, such as 'folder/Note.md' ('.md' optional).")]
Offset = Annotated[int, Field(ge=0, description="Skip this many items (the previous answer's next_offset).")]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description=f"At most this many items (1-{MAX_LIMIT}).")]
Folders = Annotated[list[str] | None, Field(description="Only notes under these vault folders.")]
Tags = Annotated[list[str] | None, Field(description="Only notes with one of these tags (or a child tag: 'a' matches 'a/b').")]
Where = Annotated[dict[str, str] | None, Field(description="Only notes whose frontmatter KEY has this VALUE (any case).")]


def tool_functions(tools: VaultTools) -> list[Callable[..., dict[str, Any]]]:
    """Every tool, as a typed function whose signature is its schema and whose docstring's first
    line is its description."""

    def read_note(
        path: NotePath,
        offset: Annotated[int, Field(ge=0, description="First character of the page (next_offset of the last page).")] = 0,
        length: Annotated[int, Field(ge=1, le=MAX_PAGE_CHARS, description="Characters in the page.")] = DEFAULT_PAGE_CHARS,
    ) -> dict[str, Any]:
        """Read a note: frontmatter as JSON, a page of its text, its headings, and the page's timestamps (clock, second, video link)."""
        return tools.read_note(path, offset, length)

    def links(path: NotePath, offset: Offset = 0, limit: Limit = DEFAULT_LIMIT) -> dict[str, Any]:
        """The links a note makes, each with its target and the note it opens (dest; null when unresolved)."""
        return tools.links(path, offset, limit)

    def backlinks(path: NotePath, offset: Offset = 0, limit: Limit = DEFAULT_LIMIT) -> dict[str, Any]:
        """The links from other notes that open this note (its backlinks), by source note."""
        return tools.backlinks(path, offset, limit)

    def unresolved(
        path: Annotated[str | None, Field(description="A note's path; omit for the whole vault.")] = None,
        offset: Offset = 0,
        limit: Limit = DEFAULT_LIMIT,
    ) -> dict[str, Any]:
        """Links to notes that do not exist: of one note, or of the whole vault (most referenced first)."""
        return tools.unresolved(path, offset, limit)

    def list_notes(folders: Folders = None, tags: Tags = None, where: Where = None, offset: Offset = 0,
                   limit: Limit = DEFAULT_LIMIT) -> dict[str, Any]:  # fmt: skip
        """List notes (path, title, tags) by folder, tag and frontmatter, in export order (channel order, then title)."""
        return tools.list_notes(folders, tags, where, offset, limit)

    def search(
        query: Annotated[str, Field(description='Words, "exact phrases", -excluded, OR, prefix*, file:, path:, tag:, section:, line:, video:ID.')],
        folders: Folders = None,
        tags: Tags = None,
        where: Where = None,
        limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="At most this many passages, best first.")] = SEARCH_LIMIT,
    ) -> dict[str, Any]:
        """Find passages in the notes (BM25, title and headings first), each with its note, heading, line and the video at that second."""
        return tools.search(query, folders, tags, where, limit)

    def normalize(
        path: Annotated[str | None, Field(description="A note's path; omit for the whole vault.")] = None,
        write: Annotated[bool, Field(description="Write the changes (needs --allow-writes); false: only show them.")] = False,
        limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="At most this many diffs in the answer.")] = 20,
    ) -> dict[str, Any]:
        """Show (or, with write, apply) the normalizer's changes as unified diffs: clickable timestamps, repaired wikilinks."""
        return tools.normalize(path, write, limit)

    def rename(
        old: Annotated[str, Field(description="The note or folder to move (vault path).")],
        new: Annotated[str, Field(description="Its new vault path (an existing folder keeps the file name).")],
    ) -> dict[str, Any]:
        """Move or rename a note or folder and update every link to it, as Obsidian does (needs --allow-writes)."""
        return tools.rename(old, new)

    def export(
        format: Annotated[str, Field(description="pdf, epub or anki (any installed exporter).")],
        folders: Folders = None,
        tags: Tags = None,
        notes: Annotated[list[str] | None, Field(description="These notes (vault paths)...")] = None,
        depth: Annotated[int, Field(ge=0, le=10, description="...and the notes they link to, this many steps out.")] = 0,
        where: Where = None,
        title: Annotated[str | None, Field(description="The document's title (and file name).")] = None,
    ) -> dict[str, Any]:
        """Export a selection of notes to a PDF, an EPUB or an Anki deck in the configured output folder (needs --allow-writes)."""
        return tools.export(format, folders, tags, notes, depth, where, title)

    return [read_note, links, backlinks, unresolved, list_notes, search, normalize, rename, export]


READ_ONLY = frozenset({"read_note", "links", "backlinks", "unresolved", "list_notes", "search"})


def guarded(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """``fn`` with a :class:`VaultsyncError` turned into a tool error carrying its message and hint."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return fn(*args, **kwargs)
        except VaultsyncError as exc:
            raise ToolError(f"{exc} (hint: {exc.hint})" if exc.hint else str(exc)) from None

    return run


class VaultServer(MCPServer[Any]):
    """The SDK's server, with the vault's notes as its resource list."""

    def __init__(self, tools: VaultTools) -> None:
        super().__init__("vaultsync", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")
        self.tools = tools

    async def list_resources(self) -> list[Resource]:
        import anyio.to_thread

        notes = await anyio.to_thread.run_sync(self.tools.resource_notes, MAX_RESOURCES)
        return [
            Resource(uri=SCHEME + quote(uri), name=uri, title=title, mime_type="text/markdown") for uri, title in notes
        ]


def build_server(tools: VaultTools) -> VaultServer:
    """The MCP server over ``tools``: every tool of :func:`tool_functions`, and the notes as resources."""
    server = VaultServer(tools)
    for fn in tool_functions(tools):
        name = fn.__name__
        hints = ToolAnnotations(read_only_hint=name in READ_ONLY, destructive_hint=name == "rename", open_world_hint=False)
        description = (fn.__doc__ or name).strip().splitlines()[0]
        server.add_tool(guarded(fn), name=name, description=description, annotations=hints)

    @server.resource(SCHEME + "{+path}", name="note", description="A note's text (its first page when long).",
                     mime_type="text/markdown")  # fmt: skip
    def note(path: str) -> str:
        try:
            return tools.read_resource(path)
        except VaultsyncError as exc:
            raise ResourceError(str(exc)) from None

    return server
