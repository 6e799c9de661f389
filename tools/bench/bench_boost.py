#!/usr/bin/env python3
"""Boost.Test adapter benchmark: the same 10,000 trivial async cases (harness_cases.cpp) run by
the pyasync harness and, mirrored into Boost's tree, by a pyasync Boost.Test binary; Boost.Test's
own 10,000 trivial sync cases (boost_floor.cpp) as the floor. All measured in this run, median of
5 whole runs (interpreter start included). Per-case figures are (whole run - run of one case) / N.
Prints ratios; asserts nothing."""
import argparse

from bench_harness import wall
from goals import report


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("harness_binary")
    parser.add_argument("boost_binary")
    parser.add_argument("boost_floor")
    parser.add_argument("--cases", type=int, default=10000)
    args = parser.parse_args()
    n = args.cases
    env = {"BENCH_CASES": str(n)}
    harness = wall([args.harness_binary, "-q"], env)
    harness_one = wall([args.harness_binary, "-q", "--exact", "Bench.case_00000"], env)
    boost = wall([args.boost_binary], env)
    boost_one = wall([args.boost_binary, "--run_test=Bench/case_00000"], env)
    floor = wall([args.boost_floor], env)
    floor_one = wall([args.boost_floor, "--run_test=Bench/case_00000"], env)
    per_case = {name: (whole - one) / (n - 1) * 1e6 for name, whole, one in
                [("harness", harness, harness_one), ("boost", boost, boost_one), ("floor", floor, floor_one)]}
    print(f"Boost.Test adapter, {n} trivial async cases, median of 5 whole runs:")
    print(f"  pyasync harness                    {harness:7.3f} s  {per_case['harness']:6.1f} us/case")
    print(f"  pyasync Boost.Test adapter         {boost:7.3f} s  {per_case['boost']:6.1f} us/case")
    print(f"  Boost.Test alone, sync (the floor) {floor:7.3f} s  {per_case['floor']:6.1f} us/case")
    print(f"  ratio adapter / harness (whole run):  {boost / harness:5.2f}x")
    print(f"  ratio adapter / harness (per case):   {per_case['boost'] / per_case['harness']:5.2f}x")
    print(f"  ratio adapter / Boost floor (per case): {per_case['boost'] / per_case['floor']:5.2f}x")
    # Boost.Test's own per-case work (its debugger check reads /proc for every case, and it installs
    # signal handlers around each) is part of both Boost rows; what pyasync adds is the difference.
    added = per_case["boost"] - per_case["floor"]
    print(f"  what the adapter adds to Boost (per case): {added:6.1f} us")
    print(report("added per case / the harness's per case", added / per_case["harness"], "boost.added_per_case",
                 f"{per_case['harness']:.1f} us"))


if __name__ == "__main__":
    main()
