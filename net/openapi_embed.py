#!/usr/bin/env python3
"""Converts docs/openapi.yaml to JSON and writes a C++ source embedding it.

Why a Python step: the document is written and reviewed as YAML (readable,
commented), while the engine serves JSON and has no YAML parser (nor should
it carry one for one static file). python3 is installed by dev.sh with
PyYAML (python3-yaml), and the conversion runs at build time only, so the
binary carries the JSON and depends on nothing at run time. A YAML error
fails the build, so a broken document never ships.

usage: openapi_embed.py INPUT.yaml OUTPUT.cpp OUTPUT.json
"""
import json
import sys

import yaml


def main():
    src, out_cpp, out_json = sys.argv[1:4]
    with open(src, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3.1"):
        sys.exit(f"{src}: not an OpenAPI 3.1 document")
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    delimiter = "openapi"
    if f"){delimiter}\"" in text:
        sys.exit(f"{src}: contains the raw string delimiter ){delimiter}\"")
    # A raw string literal of at most ~64 KiB per piece keeps every compiler happy.
    pieces = [text[i:i + 30000] for i in range(0, len(text), 30000)]
    body = "".join(f"    R\"{delimiter}({p}){delimiter}\"\n" for p in pieces)
    cpp = ("// Generated from docs/openapi.yaml by net/openapi_embed.py; do not edit.\n"
           "#include \"net/openapi.hpp\"\n\n"
           "namespace pay::net {\n\n"
           "std::string_view openapi_json() {\n"
           "  static constexpr char text[] =\n"
           f"{body};\n"
           "  return {text, sizeof text - 1};\n"
           "}\n\n"
           "}  // namespace pay::net\n")
    for path, content in ((out_cpp, cpp), (out_json, text + "\n")):
        try:
            with open(path, encoding="utf-8") as f:
                if f.read() == content:
                    continue
        except FileNotFoundError:
            pass
        with open(path, "w", encoding="utf-8") as f:
            f.write(content)


if __name__ == "__main__":
    main()
