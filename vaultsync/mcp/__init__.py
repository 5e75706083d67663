"""The Model Context Protocol server (issue 19)."""
