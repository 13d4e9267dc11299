"""Adapter: the FastAPI page institutions reach through their personal link (arrives with the page issue)."""
