"""vaultsync's built-in exporters (PDF, EPUB, Anki), registered through the ``vaultsync.exporters``
entry points exactly as a third-party exporter would be, and importing only vaultsync's public API.

Every export starts from one document model (:mod:`exporters.document`: the selected notes read,
parsed and resolved once). :mod:`exporters.pipeline` turns it into the pandoc input the PDF
(:mod:`exporters.pdf`, :mod:`exporters.typstwriter`) and EPUB (:mod:`exporters.epub`) writers
render; :mod:`exporters.anki` makes cards of the same notes (:mod:`exporters.cards`,
:mod:`exporters.cardhtml`, :mod:`exporters.markup`, :mod:`exporters.apkg`). The Obsidian syntax
they all meet, timestamps included, is read in :mod:`exporters.syntax`; options in
:mod:`exporters.options`; pandoc runs in :mod:`exporters.pandoc`.
"""
