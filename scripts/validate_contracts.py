#!/usr/bin/env python3
"""Check the JSON contracts of Nexus CRM (contracts/v1), and optionally envelopes from elsewhere.

    python3 scripts/validate_contracts.py               # schemas and examples only
    python3 scripts/validate_contracts.py FILE ...      # ... and every envelope in FILE(s)

What is checked:
  * every contracts/v1/**/*.schema.json parses, declares JSON Schema 2020-12, has the $id
    https://nexus-crm.dev/contracts/v1/<path>, is a valid schema, and all its $refs resolve;
  * every type schema (all but envelope and dlq-entry) is named <type>.schema.json (version 1)
    or <type>.v<N>.schema.json (version N), references the envelope and pins type, kind and version;
  * every contracts/v1/examples/NN-<type>[.v<N>].json is an envelope of that type and version
    that validates against its schema (date-time formats included), with an id no other example uses;
  * every type schema has at least one example.

A FILE holds one envelope, a JSON array of envelopes, or one envelope per line (JSON Lines); "-"
reads standard input. Each envelope is validated against the schema of its type and version; a
type or version without a schema is a failure.

Exit status: 0 when everything passes, 1 when anything fails (one message per failure on stderr),
2 when the script cannot run. The last line printed is a summary, e.g.
"contracts: 8 schemas, 6 examples, 0 failures".
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Iterator

try:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError, ValidationError
    from referencing import Registry
    from referencing.exceptions import PointerToNowhere, Unresolvable
    from referencing.jsonschema import DRAFT202012
except ImportError as error:  # pragma: no cover - depends on the machine
    print(
        f"contracts: cannot import {error.name!r}; install it with "
        "`pip install 'jsonschema>=4.18'` (which brings `referencing`)",
        file=sys.stderr,
    )
    sys.exit(2)

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts" / "v1"
EXAMPLES = CONTRACTS / "examples"
BASE_URI = "https://nexus-crm.dev/contracts/v1/"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_SUFFIX = ".schema.json"
ENVELOPE = "envelope.schema.json"
NON_TYPE_SCHEMAS = {ENVELOPE, "dlq-entry.schema.json"}

# "<type>" or "<type>.v<N>"; a type's segments hold no digits, so ".v2" never reads as a segment.
TYPE_STEM = re.compile(r"^(?P<type>[a-z][a-z_]*(?:\.[a-z][a-z_]*)+)(?:\.v(?P<version>[1-9][0-9]*))?$")
EXAMPLE_NAME = re.compile(r"^(?P<number>[0-9]{2,})-(?P<stem>.+)\.json$")
MAX_MESSAGE = 400


class Report:
    """Collects failures and prints each as it is found."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def fail(self, where: str, message: str) -> None:
        text = f"FAIL {where}: {message}"
        self.failures.append(text)
        print(text, file=sys.stderr)


class TypeSchema:
    def __init__(self, rel: str, type_name: str, version: int, kind: Any, validator: Draft202012Validator):
        self.rel = rel
        self.type_name = type_name
        self.version = version
        self.kind = kind
        self.validator = validator


# --- JSON reading -------------------------------------------------------------------------------

def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(text: str) -> Any:
    """Strict JSON: no duplicate keys, no NaN/Infinity (other readers of the wire refuse them)."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
    except json.JSONDecodeError as error:
        raise ValueError(f"invalid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None


def load_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read: {error}") from None
    return loads(text)


def pointer(parts: Any) -> str:
    """A JSON Pointer (RFC 6901) for a jsonschema error path; "/" for the document itself."""
    items = [str(part).replace("~", "~0").replace("/", "~1") for part in parts]
    return "/" + "/".join(items) if items else "/"


def short(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


# --- schemas ------------------------------------------------------------------------------------

def iter_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key in ("properties", "patternProperties", "$defs", "dependentSchemas"):
                # keys of these maps are names, their values are schemas
                if isinstance(value, dict):
                    for sub in value.values():
                        yield from iter_refs(sub)
            elif key in ("const", "enum", "examples", "default"):
                continue  # instance data, not schemas
            else:
                yield from iter_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_refs(item)


def declared_consts(schema: dict[str, Any]) -> dict[str, Any]:
    """The const values a type schema pins for type, kind and version (in its allOf parts)."""
    found: dict[str, Any] = {}
    for part in schema.get("allOf", []):
        properties = part.get("properties", {}) if isinstance(part, dict) else {}
        for key in ("type", "kind", "version"):
            value = properties.get(key)
            if isinstance(value, dict) and "const" in value:
                found[key] = value["const"]
    return found


def refers_to_envelope(schema: dict[str, Any]) -> bool:
    targets = {ENVELOPE, "./" + ENVELOPE, BASE_URI + ENVELOPE}
    return any(isinstance(part, dict) and part.get("$ref") in targets for part in schema.get("allOf", []))


def load_schemas(report: Report) -> tuple[dict[str, dict[str, Any]], Registry, set[str]]:
    """Returns the usable schemas by path, a registry of them, and the paths of broken ones."""
    schemas: dict[str, dict[str, Any]] = {}
    broken: set[str] = set()
    for path in sorted(CONTRACTS.rglob("*" + SCHEMA_SUFFIX)):
        rel = path.relative_to(CONTRACTS).as_posix()
        try:
            schema = load_file(path)
        except ValueError as error:
            report.fail(rel, str(error))
            broken.add(rel)
            continue
        if not isinstance(schema, dict):
            report.fail(rel, "a schema must be a JSON object")
            broken.add(rel)
            continue
        if schema.get("$schema") != DIALECT:
            report.fail(rel, f'"$schema" must be {DIALECT!r}, found {schema.get("$schema")!r}')
        if schema.get("$id") != BASE_URI + rel:
            report.fail(rel, f'"$id" must be {BASE_URI + rel!r}, found {schema.get("$id")!r}')
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as error:
            report.fail(rel, f"not a valid JSON Schema 2020-12: {pointer(error.absolute_path)}: {short(error.message)}")
            broken.add(rel)
            continue
        schemas[rel] = schema

    resources = []
    for rel, schema in schemas.items():
        resource = DRAFT202012.create_resource(schema)
        uris = {BASE_URI + rel, rel, (CONTRACTS / rel).as_uri()}
        if isinstance(schema.get("$id"), str):
            uris.add(schema["$id"])
        resources.extend((uri, resource) for uri in uris)
    registry: Registry = Registry().with_resources(resources)

    for rel, schema in schemas.items():
        resolver = registry.resolver(base_uri=schema.get("$id") or BASE_URI + rel)
        for ref in sorted(set(iter_refs(schema))):
            try:
                resolver.lookup(ref)
            except Unresolvable as error:
                report.fail(rel, f'"$ref": {ref!r} does not resolve ({unresolvable(error)})')
                broken.add(rel)
    for rel in broken:
        schemas.pop(rel, None)
    return schemas, registry, broken


def unresolvable(error: Unresolvable) -> str:
    """A short reason (the default text of some errors repeats the whole target document)."""
    while not isinstance(error, PointerToNowhere) and isinstance(error.__cause__, Unresolvable):
        error = error.__cause__  # jsonschema wraps the referencing error
    if isinstance(error, PointerToNowhere):
        return f"{error.ref!r} does not exist in the target document"
    return type(error).__name__


def type_schemas(schemas: dict[str, dict[str, Any]], registry: Registry, report: Report) -> dict[tuple[str, int], TypeSchema]:
    checker = Draft202012Validator.FORMAT_CHECKER
    if "date-time" not in checker.checkers:
        report.fail("jsonschema", "date-time format checking is unavailable; install `rfc3339-validator`")

    types: dict[tuple[str, int], TypeSchema] = {}
    for rel, schema in schemas.items():
        if rel in NON_TYPE_SCHEMAS or "/" in rel:
            continue
        match = TYPE_STEM.match(rel[: -len(SCHEMA_SUFFIX)])
        if not match:
            report.fail(rel, "a type schema must be named <type>.schema.json or <type>.v<N>.schema.json")
            continue
        type_name, version = match["type"], int(match["version"] or 1)
        consts = declared_consts(schema)
        if not refers_to_envelope(schema):
            report.fail(rel, f'"allOf" must include {{"$ref": "{ENVELOPE}"}}')
        if consts.get("type") != type_name:
            report.fail(rel, f'must pin "type" to {type_name!r} (found {consts.get("type")!r})')
        if consts.get("version") != version or isinstance(consts.get("version"), bool):
            report.fail(rel, f'must pin "version" to {version} (found {consts.get("version")!r})')
        if consts.get("kind") not in ("command", "event"):
            report.fail(rel, f'must pin "kind" to "command" or "event" (found {consts.get("kind")!r})')
        validator = Draft202012Validator(schema, registry=registry, format_checker=checker)
        types[(type_name, version)] = TypeSchema(rel, type_name, version, consts.get("kind"), validator)
    return types


# --- envelopes ----------------------------------------------------------------------------------

def schema_file(type_name: Any, version: Any) -> str:
    return f"{type_name}{'' if version == 1 else f'.v{version}'}{SCHEMA_SUFFIX}"


def validate_envelope(where: str, envelope: Any, types: dict[tuple[str, int], TypeSchema],
                      envelope_validator: Draft202012Validator | None, broken: set[str],
                      report: Report) -> TypeSchema | None:
    """Validates one envelope against the schema of its type and version; returns that schema."""
    if not isinstance(envelope, dict):
        report.fail(where, f"an envelope must be a JSON object, found {type(envelope).__name__}")
        return None
    type_name, version = envelope.get("type"), envelope.get("version")
    target = None
    if isinstance(type_name, str) and isinstance(version, int) and not isinstance(version, bool):
        target = types.get((type_name, version))
    if target is None:
        known = sorted(v for (t, v) in types if t == type_name)
        if schema_file(type_name, version) in broken:
            report.fail(where, f"cannot check: {schema_file(type_name, version)} is broken (see above)")
            return None
        if known:
            report.fail(where, f"no schema for version {version!r} of type {type_name!r} (known versions: {known})")
        else:
            report.fail(where, f"no schema for type {type_name!r}")
        validator = envelope_validator  # still report what is wrong with the envelope itself
    else:
        validator = target.validator
    if validator is not None:
        try:
            errors: list[ValidationError] = list(validator.iter_errors(envelope))
        except Unresolvable as error:
            report.fail(where, f"cannot check: a $ref does not resolve ({unresolvable(error)})")
            return target
        for error in sorted(errors, key=lambda e: (pointer(e.absolute_path), e.message)):
            report.fail(where, f"{pointer(error.absolute_path)}: {short(error.message)}")
    return target


def check_examples(types: dict[tuple[str, int], TypeSchema], envelope_validator: Draft202012Validator | None,
                   broken: set[str], report: Report) -> int:
    count = 0
    covered: set[tuple[str, int]] = set()
    numbers: dict[str, str] = {}
    ids: dict[str, str] = {}
    if not EXAMPLES.is_dir():
        report.fail("examples", f"{EXAMPLES} does not exist")
        return 0
    for path in sorted(EXAMPLES.iterdir()):
        if path.is_dir() or path.suffix != ".json":
            continue
        rel = path.relative_to(CONTRACTS).as_posix()
        count += 1
        name = EXAMPLE_NAME.match(path.name)
        stem = TYPE_STEM.match(name["stem"]) if name else None
        if not name or not stem:
            report.fail(rel, "an example must be named NN-<type>.json (or NN-<type>.v<N>.json)")
            continue
        if name["number"] in numbers:
            report.fail(rel, f"number {name['number']} is already used by {numbers[name['number']]}")
        numbers[name["number"]] = rel
        type_name, version = stem["type"], int(stem["version"] or 1)
        covered.add((type_name, version))
        try:
            envelope = load_file(path)
        except ValueError as error:
            report.fail(rel, str(error))
            continue
        if isinstance(envelope, dict):
            if envelope.get("type") != type_name:
                report.fail(rel, f'the file name says type {type_name!r} but "type" is {envelope.get("type")!r}')
            if envelope.get("version") != version:
                report.fail(rel, f'the file name says version {version} but "version" is {envelope.get("version")!r}')
            message_id = envelope.get("id")
            if isinstance(message_id, str):
                if message_id in ids:
                    report.fail(rel, f"id {message_id} is already used by {ids[message_id]}")
                ids[message_id] = rel
        validate_envelope(rel, envelope, types, envelope_validator, broken, report)
    for key in sorted(types):
        if key not in covered:
            report.fail(types[key].rel, f"no example in {EXAMPLES.relative_to(CONTRACTS).as_posix()}/ "
                                        f"(add NN-{schema_file(*key)[: -len(SCHEMA_SUFFIX)]}.json)")
    return count


def envelopes_in(argument: str) -> Iterator[tuple[str, Any]]:
    """Yields (where, envelope) for a file of one envelope, a JSON array, or JSON Lines."""
    if argument == "-":
        where, text = "<stdin>", sys.stdin.read()
    else:
        where = argument
        try:
            text = Path(argument).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"cannot read: {error}") from None
    try:
        value = loads(text)
    except ValueError as whole:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) < 2:
            raise whole
        values = []
        for n, line in lines:
            try:
                values.append((f"{where}:{n}", loads(line)))
            except ValueError as error:
                raise ValueError(f"neither one JSON document ({whole}) nor JSON Lines (line {n}: {error})") from None
        yield from values
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield f"{where}[{index}]", item
    else:
        yield where, value


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Validate the Nexus CRM JSON contracts (contracts/v1) and, optionally, envelopes in FILEs.")
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="a JSON file of one envelope, a JSON array of envelopes, or one envelope per line; - for stdin")
    args = parser.parse_args(argv)

    if not CONTRACTS.is_dir():
        print(f"contracts: {CONTRACTS} does not exist", file=sys.stderr)
        return 2

    report = Report()
    schemas, registry, broken = load_schemas(report)
    envelope_validator = None
    if ENVELOPE in schemas:
        envelope_validator = Draft202012Validator(schemas[ENVELOPE], registry=registry,
                                                  format_checker=Draft202012Validator.FORMAT_CHECKER)
    else:
        report.fail(ENVELOPE, "missing or invalid")
    types = type_schemas(schemas, registry, report)
    examples = check_examples(types, envelope_validator, broken, report)

    checked = 0
    for argument in args.files:
        try:
            for where, envelope in envelopes_in(argument):
                checked += 1
                validate_envelope(where, envelope, types, envelope_validator, broken, report)
        except ValueError as error:
            report.fail(argument, str(error))

    failures = len(report.failures)
    counts = [plural(len(schemas) + len(broken), "schema"), plural(examples, "example")]
    if args.files:
        counts.append(plural(checked, "envelope"))
    counts.append(plural(failures, "failure"))
    summary = "contracts: " + ", ".join(counts)
    print(summary)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
