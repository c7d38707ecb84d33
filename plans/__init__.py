"""The plan catalog: YAML in, frozen typed plans out. No database, no network."""

from plans.catalog import Catalog
from plans.errors import CatalogError, CatalogInvalid, Problem, UnknownPlan
from plans.loader import load_catalog, load_catalog_texts
from plans.model import (
    ApplicationHostingPlan,
    Interval,
    Plan,
    PlanKind,
    ServerHostingPlan,
    ServicePlan,
    SupportPlan,
)
from plans.money import Money

__all__ = [
    "ApplicationHostingPlan",
    "Catalog",
    "CatalogError",
    "CatalogInvalid",
    "Interval",
    "Money",
    "Plan",
    "PlanKind",
    "Problem",
    "ServerHostingPlan",
    "ServicePlan",
    "SupportPlan",
    "UnknownPlan",
    "load_catalog",
    "load_catalog_texts",
]
