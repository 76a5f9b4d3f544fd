"""Generate tests/data/hyp2f1.csv: Gauss 2F1(a, b; c; z) reference values.

Run once with mpmath (50 significant digits) and cross-checked against scipy.special.hyp2f1:
    python3 -m venv .venv && .venv/bin/pip install mpmath scipy
    .venv/bin/python tests/data/gen_hyp2f1.py > tests/data/hyp2f1.csv
The grid covers the argument ranges of the Euler-transformed CLV calls (clv-models.md 8.2, 8.3):
first parameters from -1 to 30 (negative after the transformation), c from 0.3 to 500
(a + b + x - 1 with large frequencies) and 0 <= z < 1 up to 0.995.
"""
import itertools
import mpmath
import scipy.special

mpmath.mp.dps = 50
A = [-0.95, -0.21, 0.243, 1.0, 2.6, 11.5, 30.0]
B = [-0.207, 0.5, 1.0, 3.4, 25.0]
C = [0.31, 1.5, 2.426, 7.0, 60.0, 500.0]
Z = [0.0, 0.05, 0.3, 0.5, 0.75, 0.9, 0.97, 0.995]
print("a,b,c,z,value,scipy")
for a, b, c, z in itertools.product(A, B, C, Z):
    v = mpmath.hyp2f1(a, b, c, z)
    s = scipy.special.hyp2f1(a, b, c, z)
    print(f"{a!r},{b!r},{c!r},{z!r},{mpmath.nstr(v, 20, min_fixed=-1, max_fixed=-1)},{float(s)!r}")
