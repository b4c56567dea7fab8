#!/usr/bin/env python3
"""Validates DSP negotiation messages against the official DSP 2025-1 JSON schemas.

Usage: dsp_validate.py SPECS_DIR FILE...   (SPECS_DIR = shared/specs/dsp)
Each FILE holds one JSON message; its @type picks the schema. Exit 0 when all validate,
1 with one line per failure otherwise.
"""
import json
import pathlib
import sys

import jsonschema
from referencing import Registry, Resource

SCHEMAS = {
    "ContractRequestMessage": "negotiation/contract-request-message-schema.json",
    "ContractOfferMessage": "negotiation/contract-offer-message-schema.json",
    "ContractAgreementMessage": "negotiation/contract-agreement-message-schema.json",
    "ContractAgreementVerificationMessage":
        "negotiation/contract-agreement-verification-message-schema.json",
    "ContractNegotiationEventMessage": "negotiation/contract-negotiation-event-message-schema.json",
    "ContractNegotiationTerminationMessage":
        "negotiation/contract-negotiation-termination-message-schema.json",
    "ContractNegotiation": "negotiation/contract-negotiation-schema.json",
    "ContractNegotiationError": "negotiation/contract-negotiation-error-schema.json",
}


def main():
    specs = pathlib.Path(sys.argv[1])
    resources = []
    for path in list(specs.glob("negotiation/*.json")) + list(specs.glob("common/*.json")):
        doc = json.loads(path.read_text())
        resources.append((doc["$id"], Resource.from_contents(doc)))
    registry = Registry().with_resources(resources)
    failures = 0
    seen = set()
    for name in sys.argv[2:]:
        msg = json.loads(pathlib.Path(name).read_text())
        kind = msg.get("@type")
        if kind not in SCHEMAS:
            print(f"{name}: unknown @type {kind!r}")
            failures += 1
            continue
        schema = json.loads((specs / SCHEMAS[kind]).read_text())
        validator = jsonschema.Draft201909Validator(schema, registry=registry)
        errors = sorted(validator.iter_errors(msg), key=lambda e: list(e.path))
        for e in errors:
            print(f"{name}: {kind}: {'/'.join(map(str, e.path))}: {e.message}")
        failures += bool(errors)
        seen.add(kind)
    print(f"validated {len(sys.argv) - 2} messages ({', '.join(sorted(seen))}); {failures} invalid")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
