"""The catalogue's rulebook: vocabularies and identifier checks, with no Flask import."""
