"""« Achat groupé »: a school licence paid by several teachers of the school."""
