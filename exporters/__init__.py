"""vaultsync's built-in exporters, registered through the ``vaultsync.exporters`` entry points.

This package imports only vaultsync's public API. The PDF, EPUB and Anki exporters arrive with
their own issues; until then the package is empty.
"""
