"""Where the catalog lives, read from ``DOCKYARD_CATALOG_DIR``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

BUNDLED_CATALOG = Path(__file__).parent / "catalog"
DEFAULT_MAX_FILE_BYTES = 1_048_576


@dataclass(frozen=True, slots=True)
class CatalogSettings:
    directory: Path = BUNDLED_CATALOG
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> CatalogSettings:
        directory = environ.get("DOCKYARD_CATALOG_DIR")
        return cls(directory=Path(directory) if directory else BUNDLED_CATALOG)
