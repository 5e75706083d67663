"""Vault file I/O: finding, reading, atomically writing and moving a vault's files (see :mod:`vaultsync.fs.vault`)."""
