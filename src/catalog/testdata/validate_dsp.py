#!/usr/bin/env python3
"""Validates a JSON document against one of the Dataspace Protocol's JSON schemas, resolving the
schemas' https://w3id.org/dspace/2025/1/... references to the local copies.

usage: validate_dsp.py SPEC_DIR SCHEMA DOCUMENT    e.g. validate_dsp.py specs/dsp catalog/catalog-schema.json cat.json
Exit 0 when valid; 1 with one line per error otherwise.
"""
import json
import pathlib
import sys

from jsonschema import Draft201909Validator
from referencing import Registry, Resource


def main():
    root, schema_path, doc_path = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    resources = []
    for p in root.rglob("*-schema.json"):
        s = json.loads(p.read_text())
        resources.append((s["$id"], Resource.from_contents(s)))
    registry = Registry().with_resources(resources)
    schema = json.loads((root / schema_path).read_text())
    with open(doc_path) as f:
        doc = json.load(f)
    errors = list(Draft201909Validator(schema, registry=registry).iter_errors(doc))
    for e in errors:
        print(f"{e.json_path}: {e.message}"[:400])
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
