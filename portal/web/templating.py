"""Jinja2 through litestar's template engine (autoescaping on), with the portal's filters."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from plans import render
from plans.money import format_minor

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def money(minor: int | None, currency: str) -> str:
    return "—" if minor is None else format_minor(minor, currency)


def hours(minutes: int | None) -> str:
    return "—" if minutes is None else render.hours(minutes)


def when(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M UTC") -> str:
    return "—" if moment is None else moment.strftime(pattern)


def day(moment: datetime | None) -> str:
    return when(moment, "%Y-%m-%d")


def _register(engine: JinjaTemplateEngine) -> None:
    filters: dict[str, Any] = {"money": money, "hours": hours, "when": when, "day": day}
    engine.engine.filters.update(filters)


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(
        directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=_register
    )
