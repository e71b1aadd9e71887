"""`python -m contracts export [DIR]`: writes a JSON Schema per event (envelope included) and
the AsyncAPI document into DIR (default contracts/schemas). The files are committed; a unit
test fails when they fall behind the models."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from contracts.envelope import Envelope, registry

DEFAULT_DIR = Path(__file__).resolve().parent / "schemas"


def documents() -> dict[str, Any]:
    """File name -> JSON document, for every event and the AsyncAPI description."""
    from contracts.asyncapi import document

    out: dict[str, Any] = {}
    for name, model in sorted(registry().items()):
        schema = Envelope[model].model_json_schema()  # type: ignore[valid-type]
        schema["title"] = name
        schema["x-topic"] = model.topic
        schema["x-schema-version"] = model.schema_version
        out[f"{model.topic}/{name}.v{model.schema_version}.json"] = schema
    out["asyncapi.json"] = document()
    return out


def render(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export(directory: Path) -> list[Path]:
    written = []
    for name, document in documents().items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(document))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=("export",))
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    for path in export(args.directory):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
