"""Validate deploy/ offline: the Compose file against the Compose Specification's JSON Schema
(tests/data/specs/compose-spec.json) and the Kubernetes manifests against the API schemas that
`kubernetes-validate` carries. `make check` runs this (`python -m tests.deploy_schemas`);
tests/test_deploy.py uses the same functions and checks what the files must say.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "deploy" / "compose.yaml"
KUBERNETES_DIR = ROOT / "deploy" / "kubernetes"
COMPOSE_SCHEMA = ROOT / "tests" / "data" / "specs" / "compose-spec.json"


def compose_problems(path: Path = COMPOSE_FILE) -> list[str]:
    """Every way *path* breaks the Compose Specification, as `where: what` lines."""
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{path.name}: {'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def kubernetes_documents(directory: Path = KUBERNETES_DIR) -> list[tuple[Path, dict[str, Any]]]:
    """Every manifest in *directory*, with the file it came from."""
    documents = []
    for path in sorted(directory.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document is not None:
                documents.append((path, document))
    return documents


def kubernetes_problems(directory: Path = KUBERNETES_DIR) -> list[str]:
    """Every manifest that the Kubernetes API schema (strict: no unknown fields) refuses."""
    version = kubernetes_validate.latest_version()
    problems = []
    for path, document in kubernetes_documents(directory):
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(map(str, exc.path)) or "(top)"
            problems.append(f"{path.name}: {document.get('kind')}: {where}: {exc.message}")
    return problems


def main() -> int:
    problems = compose_problems() + kubernetes_problems()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
