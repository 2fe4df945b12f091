"""The page registry: each page module says where it lives and how to lay itself out.

A page module provides PATH (a regular expression; named groups become keyword arguments), SHOW_FILTERS, and
layout(ctx, filters, **groups) -> component. It may provide register_callbacks(app, ctx). Raise NotFound from
layout for an address that matches the pattern but names nothing (an unknown workstream code, say).
"""
from __future__ import annotations

import re
from types import ModuleType



class NotFound(Exception):
    pass


# Imported after NotFound: page modules import it from here.
from dashboard.pages import (audit, cohort, definitions, exceptions, overview, print_view,  # noqa: E402
                             spc_page, workstream)

PAGES: tuple[ModuleType, ...] = (overview, workstream, definitions, print_view, spc_page, exceptions, cohort,
                                 audit)


def resolve(pathname: str | None) -> tuple[ModuleType, dict] | None:
    path = (pathname or "/").rstrip("/") or "/"
    for page in PAGES:
        match = re.fullmatch(page.PATH, path)
        if match:
            return page, match.groupdict()
    return None
