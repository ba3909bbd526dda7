"""The dependency audit of `make test`: pip-audit over every package that uv.lock pins.

pip-audit asks PyPI's JSON API, one release at a time, for the advisories that name it. A
known vulnerability in any pinned package fails the audit. A package that could not be looked
up (the registry did not answer for that release) is listed and counted, and fails the audit
only with ``--strict``: a build machine whose registry mirror serves no release metadata
would otherwise never pass, and the count says plainly how much was really audited.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    advisory: str
    fixed_in: str


@dataclass(frozen=True)
class AuditResult:
    audited: int
    skipped: dict[str, str]  # package -> why it could not be looked up
    findings: list[Finding]


def read_report(report: Mapping[str, object]) -> AuditResult:
    """What pip-audit's JSON report says: counts, skips and advisories."""
    dependencies = report.get("dependencies")
    assert isinstance(dependencies, list)
    skipped: dict[str, str] = {}
    findings: list[Finding] = []
    for dependency in dependencies:
        if "skip_reason" in dependency:
            skipped[dependency["name"]] = dependency["skip_reason"]
            continue
        for vulnerability in dependency.get("vulns", []):
            findings.append(
                Finding(
                    dependency["name"],
                    dependency.get("version", "?"),
                    vulnerability["id"],
                    ", ".join(vulnerability.get("fix_versions", [])) or "no fixed release",
                )
            )
    return AuditResult(len(dependencies) - len(skipped), skipped, findings)


def pinned_requirements(uv: str, directory: Path) -> Path:
    """uv.lock as a requirements file of exact pins (the project itself left out)."""
    target = directory / "requirements.txt"
    subprocess.run(
        [
            uv,
            "export",
            "--frozen",
            "--quiet",
            "--no-hashes",
            "--no-emit-project",
            "--format",
            "requirements-txt",
            "--output-file",
            str(target),
        ],
        cwd=ROOT,
        check=True,
    )
    return target


def run_pip_audit(requirements: Path, directory: Path) -> dict[str, object]:
    report = directory / "audit.json"
    completed = subprocess.run(
        [
            str(Path(sys.executable).with_name("pip-audit")),
            "--requirement",
            str(requirements),
            "--no-deps",  # every line is an exact pin from the lock: nothing to resolve
            "--disable-pip",
            "--vulnerability-service",
            "pypi",
            "--progress-spinner",
            "off",
            "--format",
            "json",
            "--output",
            str(report),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if not report.exists():  # pip-audit itself failed before it could report anything
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"pip-audit did not run (exit {completed.returncode})")
    loaded: dict[str, object] = json.loads(report.read_text(encoding="utf-8"))
    return loaded


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uv", default=str(ROOT / ".tools" / "bin" / "uv"))
    parser.add_argument(
        "--strict", action="store_true", help="fail when any package could not be looked up"
    )
    options = parser.parse_args(arguments)
    with tempfile.TemporaryDirectory() as directory:
        requirements = pinned_requirements(options.uv, Path(directory))
        result = read_report(run_pip_audit(requirements, Path(directory)))
    for finding in result.findings:
        print(
            f"VULNERABLE {finding.package} {finding.version}: {finding.advisory}"
            f" (fixed in {finding.fixed_in})"
        )
    print(
        f"pip-audit: {result.audited} packages audited, {len(result.findings)} known "
        f"vulnerabilities, {len(result.skipped)} packages could not be looked up"
    )
    if result.skipped:
        reasons = sorted({reason.split(":")[0] for reason in result.skipped.values()})
        print(f"  not looked up ({'; '.join(reasons)}): {', '.join(sorted(result.skipped))}")
    if result.findings:
        return 1
    return 1 if options.strict and result.skipped else 0


if __name__ == "__main__":
    raise SystemExit(main())
