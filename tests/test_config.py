"""The configuration file: every setting, read before the flags (which win), with one-line errors; and doctor."""

from __future__ import annotations

import tomllib

import pytest

from conftest import REPO, read_jsonl, run_livecap
from livecap.app.cli import _commands, _configure, build_parser
from livecap.app.flags import pipeline_settings
from livecap.errors import LivecapError


def parse(argv, config_text=None, tmp_path=None):
    if config_text is not None:
        path = tmp_path / "config.toml"
        path.write_text(config_text)
        argv = ["--config", str(path), *argv]
    parser = build_parser()
    _configure(parser, argv)
    return parser.parse_args(argv)


def test_settings_from_the_file_become_defaults_and_flags_override_them(tmp_path):
    text = ('[pipeline]\npreset = "fast"\nsmoothing = 0.2\nproviders = ["cuda", "cpu"]\n'
            '[vmc]\ndestination = "192.168.1.5:39540"\n[bvh]\nunits = "m"\n[live]\ncamera_size = "1280x720"\n')
    args = parse(["run"], text, tmp_path)
    assert (args.preset, args.smoothing, args.providers) == ("fast", 0.2, ["cuda", "cpu"])
    assert args.vmc == ("192.168.1.5", 39540) and args.bvh_units == "m" and args.camera_size == (1280, 720)
    args = parse(["process", "in.mp4", "--out", "o.jsonl", "--preset", "accurate"], text, tmp_path)
    assert args.preset == "accurate" and args.smoothing == 0.2


def test_a_files_two_passes_are_set_in_the_refine_section_as_by_their_flags(tmp_path):
    """[refine] causal and landmark_model are --causal and --landmark-model's defaults for `process` and `batch`,
    checked by the flags' own check (short model names made whole); a flag still wins."""
    text = '[refine]\ncausal = true\nlandmark_model = "heavy"\n'
    for command in (["process", "in.mp4", "--out", "o.jsonl"], ["batch", "in.mp4", "--out-dir", "out"]):
        args = parse(command, text, tmp_path)
        assert args.causal is True and args.landmark_model == "blazepose_landmark_heavy"
        assert not pipeline_settings(args).refine
    args = parse(["process", "in.mp4", "--out", "o.jsonl", "--landmark-model", "lite"], text, tmp_path)
    assert args.landmark_model == "blazepose_landmark_lite"
    assert pipeline_settings(parse(["process", "in.mp4", "--out", "o.jsonl"], "", tmp_path)).refine


@pytest.mark.parametrize("place", ["before the command", "after the command", "after, with a flag that wins"])
def test_config_is_taken_before_or_after_the_command_and_a_flag_still_wins(tmp_path, place):
    config = tmp_path / "my.toml"
    config.write_text('[pipeline]\npreset = "fast"\nsmoothing = 0.2\n')
    process = ["process", str(REPO / "samples" / "two_people.mp4"), "--out", str(tmp_path / "r.jsonl"),
               "--max-frames", "1"]
    argv = {"before the command": ["--config", str(config), *process],
            "after the command": [*process, "--config", str(config)],
            "after, with a flag that wins": [*process, "--smoothing", "0.7", "--config", str(config)]}[place]
    done = run_livecap(*argv)
    assert done.returncode == 0, done.stderr
    header, _ = read_jsonl(tmp_path / "r.jsonl")
    assert header["preset"] == "fast"
    assert header["settings"]["smoothing"] == (0.7 if "flag" in place else 0.2)


def test_a_bad_config_after_the_command_is_rejected_in_one_line(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[pipeline]\npreset = "slow"\n')
    done = run_livecap("process", "x.mp4", "--out", str(tmp_path / "r.jsonl"), "--config", str(config))
    assert done.returncode == 2
    assert done.stderr.strip() == (f"livecap: error: config {config}: [pipeline] preset = 'slow': choose one of "
                                   f"fast, balanced, accurate")


@pytest.mark.parametrize("text, message", [
    ('[pipeline]\npresets = "fast"\n', "unknown key 'presets' in [pipeline]"),
    ('[camera]\nfps = 30\n', "unknown section [camera]"),
    ('[pipeline]\nsmoothing = 3\n', "[pipeline] smoothing = 3: 3 is not a smoothing strength"),
    ('[pipeline]\npreset = "slow"\n', "choose one of fast, balanced, accurate"),
    ('[pipeline]\nfov = -5\n', "[pipeline] fov = -5: field of view -5.0 degrees is not a camera's"),
    ('[pipeline]\nsmoothing = "lots"\n', "[pipeline] smoothing = 'lots': 'lots' is not a number"),
    ('[pipeline]\nheight = 3.5\n', "[pipeline] height = 3.5: 3.5 is not a person's height"),
    ('[live]\npaced = "yes"\n', "[live] paced must be true or false"),
    ('[live]\ncamera_fps = -1\n', "[live] camera_fps = -1: must be a number above 0"),
    ('[bvh]\nfps = 0\n', "[bvh] fps = 0: must be a number above 0"),
    ('[bvh]\norder = "XXY"\n', "rotation order must be a permutation of XYZ"),
    ('[vmc]\ndestination = "host:99999"\n', "bad port"),
    ('[refine]\ncausal = "yes"\n', "[refine] causal must be true or false"),
    ('[refine]\nlandmark_model = "huge"\n', "[refine] landmark_model = 'huge': unknown landmark model 'huge'"),
    ('[pipeline\n', "not valid TOML"),
])
def test_a_bad_setting_is_one_line_naming_the_file_and_the_key(tmp_path, text, message):
    with pytest.raises(LivecapError, match=message.replace("[", r"\[").replace("]", r"\]")) as error:
        parse(["run"], text, tmp_path)
    assert str(tmp_path / "config.toml") in str(error.value) and "\n" not in str(error.value)


def test_a_missing_config_given_on_the_command_line_is_an_error_but_an_absent_default_is_not(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVECAP_CONFIG", str(tmp_path / "absent.toml"))
    assert parse(["run"]).preset == "balanced"
    done = run_livecap("--config", str(tmp_path / "nope.toml"), "run")
    assert done.returncode == 2 and "nope.toml not found" in done.stderr


def test_show_prints_every_setting_as_toml_that_reads_back_the_same(tmp_path):
    source = tmp_path / "config.toml"
    source.write_text('[pipeline]\nheight = 1.8\n[vrchat]\ntrackers = "hips,feet,knees"\nhead = false\n')
    done = run_livecap("--config", str(source), "config", "--show")
    assert done.returncode == 0, done.stderr
    shown = tmp_path / "shown.toml"
    shown.write_text(done.stdout)
    settings = tomllib.loads(done.stdout)
    assert settings["pipeline"]["height"] == 1.8 and settings["vrchat"]["head"] is False
    assert "# --smoothing:" in done.stdout
    parser = build_parser()
    _configure(parser, ["--config", str(shown)])
    again = _commands(parser)["run"]
    assert again.get_default("vrchat_trackers") == ("hips", "feet", "knees")
    assert again.get_default("height") == 1.8


def test_show_names_each_setting_by_the_flags_help_shows():
    shown = run_livecap("config", "--show").stdout
    named = [line[2:].split(": ", 1)[0] for line in shown.splitlines() if line.startswith("# --")]
    helps = run_livecap("run", "--help").stdout + run_livecap("process", "--help").stdout
    assert "--hands, --no-hands" in named  # as --help writes it, not --no-hands alone with the help of --hands
    for flags in named:
        assert f"  {flags} " in helps or f"  {flags}\n" in helps, flags


def test_doctor_reports_what_a_bug_report_needs():
    done = run_livecap("doctor")
    assert done.returncode == 0, done.stderr
    for section in ("livecap 0.", "packages", "models", "execution providers", "GPU precision", "detection ahead",
                    "cameras", "display", "config"):
        assert section in done.stdout
    assert "blazepose_landmark_full: ok" in done.stdout and "CPUExecutionProvider" in done.stdout
    assert "float16 variants, used only where CUDA runs" in done.stdout
    assert "usable cores; on from 4" in done.stdout  # whether the detection runs ahead, and why
