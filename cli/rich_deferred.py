"""Stand-ins for two rich modules typer's help formatter imports at its top but fko rarely uses.

``typer.rich_utils`` imports ``rich.markdown`` (with markdown-it, pygments) and ``rich.traceback`` (with
rich.pretty) at its top: ~40 ms of every command's start, for Markdown help (fko's help is rich markup) and
for tracebacks (staff see none). Until something really uses one, ``sys.modules`` holds a stand-in with a
class that imports the real module when it is first called; any other attribute asked of the stand-in
imports the real module too. Imported by ``cli/__init__.py`` before anything imports ``typer.rich_utils``
(``import typer`` does not; its help and error output do).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any


def defer(module: str, name: str) -> None:
    if module in sys.modules:
        return
    stand_in = types.ModuleType(module)

    def real() -> types.ModuleType:
        if sys.modules.get(module) is stand_in:
            del sys.modules[module]
            importlib.import_module(module)
        return sys.modules[module]

    class Forward(type):  # Traceback.from_exception(...) and other class attributes: the real class's
        def __getattr__(cls, attribute: str) -> Any:
            return getattr(getattr(real(), name), attribute)

    class Deferred(metaclass=Forward):
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            return getattr(real(), name)(*args, **kwargs)

    Deferred.__name__ = Deferred.__qualname__ = name
    setattr(stand_in, name, Deferred)

    def attribute_of_real(attribute: str) -> Any:
        if attribute.startswith("__"):  # the import system asks for __path__ and the like: not a use
            raise AttributeError(attribute)
        return getattr(real(), attribute)

    stand_in.__getattr__ = attribute_of_real  # type: ignore[method-assign]
    sys.modules[module] = stand_in
    package, _, child = module.rpartition(".")
    setattr(importlib.import_module(package), child, stand_in)  # `import rich.markdown; rich.markdown.X`


defer("rich.markdown", "Markdown")
defer("rich.traceback", "Traceback")
