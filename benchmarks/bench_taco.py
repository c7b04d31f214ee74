"""TACO (high-resolution images): the naive full-canvas process against
``tfdp prune``, whole process against whole process.

Both load the real TACO file, score CB-SCS, keep 70 % and write the pruned
file; the outputs must be identical.

Usage: python benchmarks/bench_taco.py
"""

import filecmp
import os
import tempfile

from common import DATA, HERE, python, require_data, run_process

TACO = require_data(DATA + "/taco-unofficial/annotations_unofficial.json")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        naive_out = os.path.join(tmp, "naive.json")
        ours_out = os.path.join(tmp, "ours.json")
        naive_code = (
            "import sys; sys.path.insert(0, %r); import naive; "
            "naive.prune_file(%r, %r, '0.7')" % (HERE, TACO, naive_out)
        )
        print("TACO: 3,831 images up to 6000x5312, 8,334 annotations")
        print("naive full-canvas process ...", flush=True)
        naive_s, naive_mb = run_process(python("-c", naive_code))
        print("tfdp prune ...", flush=True)
        ours_s, ours_mb = run_process(
            python("-m", "tfdp", "prune", TACO, "-o", ours_out,
                   "--keep-ratio", "0.7"),
            quiet=True,
        )
        same = filecmp.cmp(naive_out, ours_out, shallow=False)

    print()
    print("| process | time (s) | peak memory (MiB) |")
    print("|---|---:|---:|")
    print("| naive full canvas | %.1f | %.0f |" % (naive_s, naive_mb))
    print("| tfdp prune | %.2f | %.0f |" % (ours_s, ours_mb))
    print()
    print("speed-up: %.1fx (goal: at least 20x)" % (naive_s / ours_s))
    print("identical outputs: %s" % same)
    if not same:
        raise SystemExit("outputs differ")


if __name__ == "__main__":
    main()
