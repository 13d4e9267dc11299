"""fko-cycle: the yearly survey-and-update round of a regional action concept."""

__version__ = "0.1.0"
