"""Full-text search over the vault, to the second of the video (issue 18)."""
