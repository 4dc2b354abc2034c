"""dsmr_parser without `cryptography` and `dlms_cosem` until an encrypted telegram needs them.

`dsmr_parser.parsers` (dsmr-parser 1.11.2, the newest release) imports `cryptography` (AES, for
encrypted Luxembourg and Austrian meters) and `dlms_cosem` (their DLMS frames) at module level:
about 17 MB of peak RSS on the logger, for code a Belgian meter never runs. The library has no
option to skip them. So `import_dsmr_parser` imports `dsmr_parser.parsers` while an import hook,
active only for that one import, hands out placeholder modules for exactly those two packages
(when they are not imported yet). The six names `parsers` takes from them become `_Deferred`
objects that import the real object on first use and then put every real object back into
`dsmr_parser.parsers`' namespace (so even `except DlmsDecryptionError` sees the real class by
the time a decryption can fail). Nothing of the library is copied or changed; an encrypted
telegram still works, it only pays the import when it first arrives.

The proper fix is upstream: move those four imports into the two places that use them
(docs/upstream/dsmr_parser-lazy-crypto.md). Once a release does that, this hook finds nothing
to defer and `tests/test_p1_memory.py` says so.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any

DEFERRED_PACKAGES = ("cryptography", "dlms_cosem")
TARGET = "dsmr_parser.parsers"


class _Deferred:
    """Stands for `module.name` in `dsmr_parser.parsers` until first used."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name

    def resolve(self) -> Any:
        real = getattr(importlib.import_module(self.module), self.name)
        _put_back_real_objects()
        return real

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.resolve(), attr)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<deferred {self.module}.{self.name}>"


class _Placeholder(types.ModuleType):
    """A package whose every public attribute is a `_Deferred`."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Deferred(self.__name__, name)


class _PlaceholderLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _Placeholder(spec.name)
        module.__path__ = []  # a package: its submodules come from here too
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class _PlaceholderFinder(importlib.abc.MetaPathFinder):
    def __init__(self, packages: list[str]) -> None:
        self.packages = packages
        self.loader = _PlaceholderLoader()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] in self.packages:
            return importlib.machinery.ModuleSpec(fullname, self.loader, is_package=True)
        return None


def _put_back_real_objects() -> None:
    parsers = sys.modules.get(TARGET)
    if parsers is None:
        return
    for key, value in list(vars(parsers).items()):
        if isinstance(value, _Deferred):
            setattr(parsers, key, getattr(importlib.import_module(value.module), value.name))


def import_dsmr_parser() -> list[str]:
    """Import `dsmr_parser.parsers` with its crypto imports deferred; returns the names that
    were deferred (empty when it was imported already or needs nothing deferred)."""
    if TARGET in sys.modules:
        return []
    finder = _PlaceholderFinder([p for p in DEFERRED_PACKAGES if p not in sys.modules])
    sys.meta_path.insert(0, finder)
    try:
        parsers = importlib.import_module(TARGET)
    finally:
        sys.meta_path.remove(finder)
        for name, module in list(sys.modules.items()):
            if isinstance(module, _Placeholder):
                del sys.modules[name]
    return sorted(key for key, value in vars(parsers).items() if isinstance(value, _Deferred))


def deferred_names() -> list[str]:
    """The names of `dsmr_parser.parsers` still waiting for their first use."""
    parsers = sys.modules.get(TARGET)
    if parsers is None:
        return []
    return sorted(key for key, value in vars(parsers).items() if isinstance(value, _Deferred))
