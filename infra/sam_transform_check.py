#!/usr/bin/env python3
"""Runs the SAM transform that CloudFormation runs at deploy time on infra/template.yaml,
offline (no credentials, no upload): `sam validate --lint` lints the template but does not
expand it, so a property SAM refuses only while expanding (an `Authorizer: NONE` on an API
without a default authorizer, for one) would otherwise first show at `sam deploy`.

Usage: python3 infra/sam_transform_check.py [TEMPLATE]  (the venv's python, with aws-sam-cli)
Prints the HTTP API's routes and the authorizer each goes through; exits 1 on any error.
"""
import os
import sys

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    def load(self):
        return {}


def main(path: str) -> int:
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
    with open(path) as f:
        template = yaml_parse(f.read())
    # Local code paths stand for the S3 locations `sam package` would put there.
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = "s3://bucket/key"
    try:
        expanded = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(f"sam transform: {cause.message}", file=sys.stderr)
        return 1
    for resource in expanded["Resources"].values():
        if resource["Type"] != "AWS::ApiGatewayV2::Api":
            continue
        for route, methods in sorted(resource["Properties"].get("Body", {}).get("paths", {}).items()):
            for method, op in sorted(methods.items()):
                guard = ",".join(k for s in op.get("security") or [] for k in s) or "-"
                print(f"{method.upper():6} {route:42} {guard}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "infra/template.yaml"))
