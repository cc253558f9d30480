#!/usr/bin/env python3
"""Prints, for each failed test in a .trx file, the last lines of what it wrote (ITestOutputHelper): the node log tails and
measurements a failure message alone does not carry. Usage: trx-failures.py FILE.trx [LINES]"""
import sys
import xml.etree.ElementTree as ET

NS = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"
path = sys.argv[1]
lines = int(sys.argv[2]) if len(sys.argv) > 2 else 40
for result in ET.parse(path).getroot().iter(NS + "UnitTestResult"):
    if result.get("outcome") != "Failed":
        continue
    out = result.find(f"{NS}Output/{NS}StdOut")
    text = (out.text or "").rstrip() if out is not None else ""
    if not text:
        continue
    print(f"   --- output of {result.get('testName')} (last {lines} lines)")
    for line in text.splitlines()[-lines:]:
        print("   " + line[:400])
