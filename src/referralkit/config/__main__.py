"""``python -m referralkit.config > referralkit.schema.json``: the JSON Schema of program files."""

import sys

from referralkit.config import write_json_schema

write_json_schema(sys.stdout)
