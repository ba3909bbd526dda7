"""The dependency audit reads pip-audit's JSON report: a known advisory fails the build, a
package that could not be looked up is counted and fails it only when strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import audit

REPORT = {
    "dependencies": [
        {"name": "httpx", "version": "0.28.1", "vulns": []},
        {
            "name": "jinja2",
            "version": "3.1.2",
            "vulns": [
                {
                    "id": "GHSA-h5c8-rqwp-cp95",
                    "fix_versions": ["3.1.3"],
                    "aliases": ["CVE-2024-22195"],
                    "description": "xmlattr accepts keys with spaces",
                }
            ],
        },
        {
            "name": "uvloop",
            "skip_reason": "Dependency not found on PyPI and could not be audited: uvloop (0.23.0)",
        },
    ],
    "fixes": [],
}


def test_the_report_counts_audited_packages_skips_and_advisories() -> None:
    result = audit.read_report(REPORT)
    assert result.audited == 2
    assert list(result.skipped) == ["uvloop"]
    assert result.findings == [
        audit.Finding("jinja2", "3.1.2", "GHSA-h5c8-rqwp-cp95", "3.1.3"),
    ]


@pytest.mark.parametrize(
    ("dependencies", "strict", "exit_code"),
    [
        (REPORT["dependencies"], False, 1),  # an advisory fails whatever the mode
        (REPORT["dependencies"][:1], False, 0),
        (REPORT["dependencies"][:1] + REPORT["dependencies"][2:], False, 0),
        (REPORT["dependencies"][:1] + REPORT["dependencies"][2:], True, 1),
    ],
)
def test_the_exit_code_follows_advisories_and_strictness(
    monkeypatch: pytest.MonkeyPatch, dependencies: object, strict: bool, exit_code: int
) -> None:
    monkeypatch.setattr(audit, "pinned_requirements", lambda _uv, directory: directory / "r.txt")
    monkeypatch.setattr(
        audit, "run_pip_audit", lambda _requirements, _directory: {"dependencies": dependencies}
    )
    assert audit.main(["--strict"] if strict else []) == exit_code


def test_the_lock_exports_as_exact_pins(tmp_path: Path) -> None:
    uv = audit.ROOT / ".tools" / "bin" / "uv"
    if not uv.exists():
        pytest.skip("uv is installed by make install")
    requirements = audit.pinned_requirements(str(uv), tmp_path).read_text(encoding="utf-8")
    pins = [line for line in requirements.splitlines() if line and line[0] not in "# "]
    assert pins
    assert all("==" in pin for pin in pins)
    assert not any(pin.startswith("topup") for pin in pins)
