"""scripts/bench builds what each selected section runs: every program a section starts from the
build tree is in its PROGRAMS, and every one of them is a target of a tree configured the way
scripts/bench configures it (Release, no tests), so `scripts/bench -s 40_streams` on a fresh clone
builds the fake LLM and the stream client instead of stopping with a traceback."""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import SOURCE

BENCH_DIR = os.path.join(SOURCE, "tests", "bench")
sys.path.insert(0, BENCH_DIR)

import bench  # noqa: E402  (tests/bench/bench.py)

# How a section (or the harness it calls) starts a program from the build tree.
PROGRAM_REFS = [
    (re.compile(r'os\.path\.join\((?:harness\.)?BUILD,\s*"([^"]+)"'), None),
    (re.compile(r"\bFakeLlm\("), "fake-llm"),
    (re.compile(r"\bWsClient\("), "ws-client"),
]


def section_files():
    return sorted(glob.glob(os.path.join(BENCH_DIR, "sections", "[0-9]*.py")))


class BenchSectionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sections = bench.load_sections("")

    def test_every_program_a_section_runs_is_in_its_programs(self):
        self.assertEqual(len(self.sections), len(section_files()))
        for (name, module), path in zip(self.sections, section_files()):
            with open(path) as f:
                source = f.read()
            used = set()
            for pattern, program in PROGRAM_REFS:
                for m in pattern.finditer(source):
                    used.add(program or m.group(1))
            self.assertTrue(hasattr(module, "PROGRAMS"), name)
            self.assertEqual(used, set(module.PROGRAMS), name)

    def test_selection_builds_the_stack_and_the_selected_sections_programs(self):
        streams = [s for s in self.sections if s[0] == "40_streams"]
        self.assertEqual(bench.programs_for(streams),
                         ["chatd-workers", "chatd-push", "chatctl", "bench-stream-client", "fake-llm"])
        everything = bench.programs_for(self.sections)
        self.assertEqual(len(everything), len(set(everything)))

    def test_every_program_is_a_target_of_the_bench_tree(self):
        build = tempfile.mkdtemp(prefix="chatd-bench-tree-")
        try:
            # Exactly scripts/bench's configuration.
            subprocess.run(["cmake", "-S", SOURCE, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                            "-DCHATD_BUILD_BENCH=ON", "-DCHATD_BUILD_TESTS=OFF"],
                           check=True, capture_output=True, timeout=300)
            listing = subprocess.run(["cmake", "--build", build, "--target", "help"], check=True,
                                     capture_output=True, text=True, timeout=120).stdout
            targets = set(re.findall(r"^\.\.\. (\S+)", listing, re.M))
            for program in bench.programs_for(self.sections) + ["bench-programs"]:
                self.assertIn(program, targets, f"{program} is not a target of scripts/bench's tree")
        finally:
            shutil.rmtree(build, ignore_errors=True)

    def test_a_missing_program_is_one_clear_line_not_a_traceback(self):
        empty = tempfile.mkdtemp(prefix="chatd-bench-empty-")
        try:
            env = dict(os.environ, CHATD_BUILD_DIR=empty, CHATD_SOURCE_DIR=SOURCE,
                       PYTHONPATH=os.path.join(SOURCE, "tests", "support"))
            r = subprocess.run([sys.executable, os.path.join(BENCH_DIR, "bench.py"), "-s", "40_streams"],
                               env=env, capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertNotIn("Traceback", r.stderr)
            self.assertIn(os.path.join(empty, "fake-llm"), r.stderr)
            self.assertIn("--target fake-llm", r.stderr)
        finally:
            shutil.rmtree(empty, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
