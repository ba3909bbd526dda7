"""The storefront's routes: the pages of each flow, the help page, the language switch,
the static files, and the error page a browser sees instead of JSON."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from topup.kit.errors import AppError, Unauthorized
from topup.storefront import account_pages, purchase_pages, sandbox_pages, shop_pages
from topup.storefront.rendering import STATIC
from topup.storefront.service import balance_code_table
from topup.storefront.web import VisitorDep, page, redirect, refuse_nul, visitor

# Router dependencies run before a route's own: refuse_nul before the visitor's session
# lookup. They reach the pages included below because those are added after it is set.
router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_nul)])
router.include_router(shop_pages.router)
router.include_router(account_pages.router)
router.include_router(purchase_pages.router)
router.include_router(sandbox_pages.router)
# Paths a program calls: their errors stay JSON, whatever asked.
API_PREFIXES = (
    "/v1/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/docs",
    "/openapi",
    "/redoc",
    "/static/",
)


@router.get("/help")
async def help_page(person: VisitorDep) -> Response:
    snapshot = await person.runtime.catalogue.get()
    return page(person, "help.html", balance_codes=balance_code_table(snapshot, person.language))


def is_page(request: Request) -> bool:
    return is_page_path(request.url.path)


def is_page_path(path: str) -> bool:
    return not path.startswith(API_PREFIXES)


async def error_page(request: Request, error: AppError) -> Response:
    """What a browser sees when a page refuses: a login first, or the reason in words."""
    person = await visitor(request)
    if isinstance(error, Unauthorized) and request.method == "GET":
        return redirect(person, f"/login?next={quote(request.url.path, safe='')}")
    return page(person, "error.html", status_code=error.status_code, error=error)


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
