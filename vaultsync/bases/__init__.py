"""Obsidian Bases evaluated from the index (issue 20)."""
