"""The application context a command works with, built from the settings and closed when it is done."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from usecases.context import AppContext
from usecases.settings import load_settings


@contextmanager
def app_context() -> Iterator[AppContext]:
    ctx = AppContext.from_settings(load_settings())
    try:
        yield ctx
    finally:
        ctx.close()
