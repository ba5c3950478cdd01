#!/usr/bin/env python3
"""Writes a benchmark scenario: the baseline with N suppliers and Q quarters.

    scripts/bench/generate.py SUPPLIERS QUARTERS > scenario.toml

The suppliers cycle through the baseline's four (Russia, China, India, Others),
renamed with a number, with equal initial shares; the baseline's events stay.
Used by scaling.sh to measure how cost grows with suppliers and quarters.
"""
import re
import sys
from pathlib import Path

n, quarters = int(sys.argv[1]), int(sys.argv[2])
base = (Path(__file__).resolve().parents[2] / "scenarios" / "myanmar_2021.toml").read_text()
head, rest = base.split("[[suppliers]]", 1)
blocks = ("[[suppliers]]" + rest).split("[[events]]")[0].strip().split("[[suppliers]]")[1:]
events = "[[events]]" + "[[events]]".join(base.split("[[events]]")[1:])
head = re.sub(r"(?m)^quarters = \d+", f"quarters = {quarters}", head)
head = re.sub(r"(?m)^compare = .*$", "", head)
out = [head]
for i in range(n):
    block = blocks[i % len(blocks)]
    block = re.sub(r'(?m)^name = "(\w+)"', lambda m: f'name = "{m.group(1)}{i}"', block)
    block = re.sub(r"(?m)^share = [0-9.]+", f"share = {1.0 / n!r}", block)
    out.append("[[suppliers]]" + block + "\n")
# The sanctions event names "Others": point it at the first of them.
out.append(events.replace('entity = "Others"', 'entity = "Others3"'))
sys.stdout.write("\n".join(out))
