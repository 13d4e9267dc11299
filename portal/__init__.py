"""Entry point: the FastAPI page institutions reach through their personal link."""
