#!/usr/bin/env python3
"""Prints the table of src/engine/exp.rs (its `const TABLE`, verbatim): for k in 0..128, with
H[k] = 2^(k/128) rounded to the nearest double and T[k] = (2^(k/128) - H[k]) / H[k]
rounded likewise, the pair (bits of T[k], bits of H[k] - (k << 45)), the
layout of glibc's and Arm optimized-routines' `__exp_data.tab`. Exact to 80
digits with Python's decimal module; `float(Decimal)` rounds correctly.

    python3 scripts/math/exp_table.py
"""
import struct
from decimal import Decimal, getcontext

getcontext().prec = 80
LN2 = Decimal(2).ln()


def bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


print("const TABLE: [u64; 2 * N] = [")
for k in range(128):
    exact = (LN2 * k / 128).exp()
    head = float(exact)
    tail = float((exact - Decimal(head)) / Decimal(head))
    shifted = (bits(head) - (k << 45)) % 2**64
    # One entry a line, as rustfmt lays the array out.
    print(f"    0x{bits(tail):016x},")
    print(f"    0x{shifted:016x},")
print("];")
