"""Schemathesis against ``/openapi.json``: every operation, valid and invalid input, on both
databases. No answer may be a 5xx, and every answer must be one the document declares,
with the declared content type and body (the error body included).

Bounded for CI: a fixed number of examples per operation, derandomized so a run is
reproducible. Customer operations are fuzzed logged in (reaching past the 401) and also
anonymously; staff operations as an admin; each example gets an account of its own.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fixtures.fuzzing import BASE_URL, HostedApp, fuzz_settings
from topup.accounts.models import Role
from topup.app import create_app

EXAMPLES = 12  # per operation, identity and mode: ~1,300 requests per database
POSITIVE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
NEGATIVE_CHECKS = [*POSITIVE_CHECKS, negative_data_rejection]

# Paths anyone may call; every other path is a customer's, or staff's under /v1/admin.
PUBLIC_PREFIXES: tuple[str, ...] = (
    "/v1/countries",
    "/v1/operators",
    "/v1/lookup",
    "/v1/sandbox",
    "/healthz",
    "/readyz",
    "/v1/auth/signup",
    "/v1/auth/verify-phone",
    "/v1/auth/login",
    "/v1/auth/password",
    "/v1/suppliers",  # the supplier's signed callbacks: no customer calls them
)


def _identities(path: str) -> list[Role | None]:
    if path.startswith("/v1/admin"):
        return [Role.admin, None]
    if path.startswith(PUBLIC_PREFIXES):
        return [None]
    return [Role.customer, None]


CONSTRAINTS = {"pattern", "minLength", "maxLength", "enum", "const", "format"}


def _can_be_invalid(parameter: dict[str, Any]) -> bool:
    """A path segment or a header is always a string: only a constrained one has invalid
    values."""
    if parameter["in"] not in ("path", "header"):
        return True
    schema = parameter.get("schema", {})
    return bool(CONSTRAINTS & set(schema)) or schema.get("type", "string") != "string"


def _modes(operation: dict[str, Any]) -> list[GenerationMode]:
    """Invalid input only where there is input to spoil."""
    spoilable = any(_can_be_invalid(parameter) for parameter in operation.get("parameters", []))
    if spoilable or operation.get("requestBody"):
        return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return [GenerationMode.POSITIVE]


def _operations() -> list[Any]:
    """(method, path, identity, mode) for every documented operation; the sandbox clock
    last, since moving it ages every token issued before."""
    document = create_app(fuzz_settings("sqlite+aiosqlite://")).openapi()
    cases = [
        pytest.param(
            method.upper(),
            path,
            role,
            mode,
            id=f"{method.upper()} {path} {role or 'anonymous'} {mode.value}",
        )
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for role in _identities(path)
        for mode in _modes(operation)
    ]
    return sorted(cases, key=lambda case: case.values[1] == "/v1/sandbox/clock")


@pytest.fixture(scope="module")
def api_schema(hosted_app: HostedApp) -> Any:
    document = hosted_app.request("GET", "/openapi.json")
    assert document.status_code == 200
    return schemathesis.openapi.from_dict(document.json())


def send(hosted_app: HostedApp, case: Case[Any], headers: dict[str, str]) -> httpx.Response:
    """The case as schemathesis would send it with requests, sent through httpx."""
    prepared = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
    options: dict[str, Any] = {"params": prepared.get("params"), "headers": prepared.get("headers")}
    if prepared.get("cookies"):
        options["headers"] = {**(options["headers"] or {}), "Cookie": _cookie_header(prepared)}
    if "json" in prepared:
        options["json"] = prepared["json"]
    elif isinstance(prepared.get("data"), (bytes, str)):
        options["content"] = prepared["data"]
    elif prepared.get("data") is not None:
        options["data"] = prepared["data"]
    return hosted_app.request(prepared["method"], prepared["url"], **options)


def _cookie_header(prepared: dict[str, Any]) -> str:
    return "; ".join(f"{name}={value}" for name, value in prepared["cookies"].items())


@pytest.mark.parametrize(("method", "path", "role", "mode"), _operations())
def test_every_answer_is_documented(
    hosted_app: HostedApp,
    api_schema: Any,
    method: str,
    path: str,
    role: Role | None,
    mode: GenerationMode,
) -> None:
    operation = api_schema[path][method]
    checks = POSITIVE_CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def answers_as_documented(case: Case[Any]) -> None:
        headers = hosted_app.account(role).headers if role is not None else {}
        response = send(hosted_app, case, headers)
        case.validate_response(response, checks=checks, headers=headers)

    answers_as_documented()


def test_every_error_is_documented_with_topups_error_body() -> None:
    """Not FastAPI's HTTPValidationError: topup answers 422 with its own body."""
    document = create_app(fuzz_settings("sqlite+aiosqlite://")).openapi()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "413" in responses, f"{method} {path}"
            for status, response in responses.items():
                if int(status) >= 400 and path != "/readyz":
                    reference = response["content"]["application/json"]["schema"]["$ref"]
                    assert reference.endswith("/ErrorBody"), f"{method} {path} {status}"
