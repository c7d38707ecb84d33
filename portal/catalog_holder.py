"""The catalog the portal serves: the last one that loaded, and why a reload failed.

An operator edits the YAML and reloads; a broken file must not take the shop down, so
the last good catalog keeps serving and the problems are shown on the operator page.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from plans import Catalog, CatalogInvalid, load_catalog
from plans.settings import CatalogSettings
from provisioner import Clock


@dataclass(frozen=True, slots=True)
class ReloadFailure:
    at: datetime
    problems: tuple[str, ...]


class CatalogHolder:
    def __init__(self, settings: CatalogSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self._catalog: Catalog | None = None
        self.loaded_at: datetime | None = None
        self.last_failure: ReloadFailure | None = None
        self._lock = threading.Lock()

    def current(self) -> Catalog:
        """The serving catalog, loaded on first use (raises CatalogInvalid if that fails)."""
        if self._catalog is None:
            with self._lock:
                if self._catalog is None:
                    self._catalog = self._load()
                    self.loaded_at = self.clock()
        return self._catalog

    def reload(self) -> ReloadFailure | None:
        """Read the files again; on problems keep serving the previous catalog."""
        try:
            catalog = self._load()
        except CatalogInvalid as invalid:
            failure = ReloadFailure(self.clock(), tuple(map(str, invalid.problems)))
            self.last_failure = failure
            return failure
        with self._lock:
            self._catalog = catalog
            self.loaded_at = self.clock()
            self.last_failure = None
        return None

    def _load(self) -> Catalog:
        return load_catalog(self.settings.directory, max_file_bytes=self.settings.max_file_bytes)
