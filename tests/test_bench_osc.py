"""`livecap bench --osc`: a recorded run replayed at its own pace through every OSC stream to real receivers on
loopback; every frame is sent and received, none dropped."""

from __future__ import annotations

import json
import re

from conftest import run_livecap


def test_bench_osc_replays_a_results_file_through_every_stream(two_people_results, tmp_path):
    header, frames = two_people_results
    results = tmp_path / "two.jsonl"
    results.write_text("\n".join(json.dumps(line) for line in [header, *frames]) + "\n")
    done = run_livecap("bench", "--osc", str(results), "--seconds", "1.5")
    assert done.returncode == 0, done.stderr
    streams = re.findall(r"^(\w+)\s+sent (\d+) of (\d+), received (\d+) bundles .* dropped (\d+)", done.stdout, re.M)
    assert {name for name, *_ in streams} == {"vmc", "vrchat", "osc"}, done.stdout
    for name, sent, offered, received, dropped in streams:
        assert int(offered) >= 30 and sent == offered == received and dropped == "0", (name, done.stdout)
