"""Searchers whose code lives above the campaign core, found by the type name the spec gives them.

The spec knows every searcher type, so a manifest validates wherever it is read. A searcher of our
own (Dragonfly, in :mod:`hpo_operator.searchers`) needs Ray and its own library, and the core does
not import upwards: that package registers a factory for each of its types when it is imported,
and :func:`.strategies.make_searcher` looks the type up here. Whoever builds a Tuner imports
``hpo_operator.searchers`` once. Nothing registers itself when a campaign module is imported.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable
from typing import Any

from .spec import CampaignSpec, Searcher

# spec, points to evaluate (None for none) -> a Ray Tune searcher. A factory imports its module
# (Ray, the searcher's library) only when it is called, so registering one costs nothing.
SearcherFactory = Callable[[CampaignSpec, list[dict[str, Any]] | None], Any]

_factories: dict[str, SearcherFactory] = {}


class SearcherNotRegistered(LookupError):
    """A searcher type the spec accepts, but whose plugin was not imported in this process."""


@functools.cache
def searcher_types() -> frozenset[str]:
    """Every ``spec.strategy.searcher.type`` the spec accepts."""
    members = typing.get_args(typing.get_args(Searcher)[0])
    return frozenset(typing.get_args(m.model_fields["type"].annotation)[0] for m in members)


def register_searcher(type_name: str, factory: SearcherFactory) -> None:
    """Build searchers of ``type_name`` with ``factory``; registering a type again replaces it."""
    if type_name not in searcher_types():
        raise ValueError(f"{type_name!r} is not a searcher type of the spec; known: "
                         f"{', '.join(sorted(searcher_types()))}")
    _factories[type_name] = factory


def unregister_searcher(type_name: str) -> None:
    _factories.pop(type_name, None)


def searcher_factory(type_name: str) -> SearcherFactory:
    """The registered factory; :class:`SearcherNotRegistered` when its plugin is not loaded."""
    try:
        return _factories[type_name]
    except KeyError:
        pass
    if type_name in searcher_types():
        raise SearcherNotRegistered(
            f"searcher {type_name!r} is a valid spec.strategy.searcher.type, but no searcher "
            f"plugin registered it in this process: import hpo_operator.searchers before "
            f"building the Tuner") from None
    raise KeyError(f"unknown searcher {type_name!r}")
