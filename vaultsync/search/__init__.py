"""Full-text search over the vault, to the second of the video: the query language
(:mod:`vaultsync.search.query`) and the engine that runs it on the index's full-text table
(:mod:`vaultsync.search.engine`). Light on purpose: the command line reads ``DEFAULT_LIMIT``
from here without loading the engine."""

DEFAULT_LIMIT = 20  # hits a search returns unless asked for another number
