#!/usr/bin/env python3
"""How much a turned head reads as an expression, on real video: the mean of each expression and measure per yaw
bucket, live and refined.

    python tools/eval_face_turn.py [VIDEO ...] [--preset NAME ...] [--by-person] [--max-frames N] [--dump DIR]
                                   [--frames DIR]

Each video goes once through the pipeline with faces on (per preset; `balanced` and `accurate` by default): the
live output of that pass (each frame's faces as `livecap run` publishes them: neutral learned over the person's
first seconds) and its take refined (livecap.refine: the whole take's neutral). Each face found falls in a bucket of
its head's yaw, the published rotation's turn from facing the camera (0-15, 15-30, 30-45, 45-60, 60+ degrees).
People who keep a steady expression as they turn (two_people, the default video) should read the same in every
bucket. The buckets mix people (two_people's man on the right faces the camera, then turns some 50 degrees; the
other is seen turned 50-65 degrees); --by-person prints each person's table too.

--dump DIR writes each run's faces (points, rotation, iris, time, person) as DIR/VIDEO-PRESET-MODE.npz;
--frames DIR draws a few turned faces' expressions on their frames (DIR/VIDEO-PRESET-MODE-FRAME.png).
A maintainer tool: prints numbers, asserts nothing.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
# the dev videos with faces found: two_people (65 faces); armwrestling has 2, basketball (240p) and vtest none
VIDEO = REPO / "samples" / "two_people.mp4"
BUCKETS = (0, 15, 30, 45, 60, 180)  # degrees of yaw
# Blink, eyeWide, browDown: the mean of the left and the right
SHOWN = ("Surprised", "browInnerUp", "browDown", "Blink", "eyeWide", "jawOpen", "A", "mouthSmile")
SHOWN_MEASURES = ("brow", "eye_open", "mouth_open", "mouth_width")  # brow, eye_open: L/R mean


@dataclass
class Faces:
    """One run's faces, one row per face found."""

    person: list[int] = field(default_factory=list)
    frame: list[int] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    points: list[np.ndarray] = field(default_factory=list)
    rotation: list[np.ndarray] = field(default_factory=list)
    iris: list[bool] = field(default_factory=list)
    expressions: list[dict] = field(default_factory=list)

    def add(self, frame: int, time_s: float, person) -> None:
        face = person.face
        self.person.append(person.id)
        self.frame.append(frame)
        self.time.append(time_s)
        self.points.append(np.asarray(face.landmarks2d, np.float64))
        self.rotation.append(np.asarray(face.rotation, np.float64))
        self.iris.append(bool(face.iris))
        self.expressions.append(dict(face.expressions))

    def of(self, person_id: int) -> "Faces":
        """One person's faces."""
        keep = [k for k, p in enumerate(self.person) if p == person_id]
        return Faces(*([getattr(self, name)[k] for k in keep] for name in self.__dataclass_fields__))


def yaw_degrees(rotation: np.ndarray) -> float:
    """The head's turn left or right from facing the camera (FacePose.rotation's back axis about camera y)."""
    back = np.asarray(rotation)[:, 2]
    return float(np.degrees(np.arctan2(back[0], back[2])))


def pitch_degrees(rotation: np.ndarray) -> float:
    back = np.asarray(rotation)[:, 2]
    return float(np.degrees(np.arctan2(-back[1], np.hypot(back[0], back[2]))))


def run(video: Path, preset: str, max_frames: int | None) -> tuple[Faces, Faces]:
    """The live and the refined faces of one pass over `video`."""
    from livecap.pose.pipeline import PipelineModels, build_pipeline
    from livecap.refine import RefineSettings, TakeRecorder, refine
    from livecap.settings import PipelineSettings
    from livecap.sources import open_file
    settings = PipelineSettings(preset=preset, face=True)
    source = open_file(str(video))
    pipeline = build_pipeline(settings, source.mode.width, source.mode.height, models=PipelineModels.load(settings))
    recorder = TakeRecorder()
    recorder.start(pipeline.stream_info(str(video), source.mode.width, source.mode.height, source.mode.fps))
    live = Faces()
    try:
        for i, frame in enumerate(source):
            if max_frames is not None and i >= max_frames:
                break
            result = pipeline.process(frame)
            recorder.write(result)
            for person in result.people:
                if person.face is not None and not person.predicted:
                    live.add(i, frame.time, person)
    finally:
        source.close()
    refined = Faces()
    done = refine(recorder.take, None, RefineSettings.for_take(recorder.take))
    for i, result in enumerate(done.results()):
        for person in result.people:
            if person.face is not None:
                refined.add(i, result.time, person)
    return live, refined


def table(faces: Faces) -> list[tuple[str, int, dict[str, float]]]:
    """Per yaw bucket: its name, its faces and the mean of each SHOWN expression and SHOWN_MEASURES measure."""
    from livecap.pose.expressions import M, measure
    yaw = np.abs([yaw_degrees(r) for r in faces.rotation])
    rows = []
    for low, high in zip(BUCKETS[:-1], BUCKETS[1:]):
        chosen = np.flatnonzero((yaw >= low) & (yaw < high))
        means: dict[str, float] = {}
        for name in SHOWN:
            values = [_expression(faces.expressions[k], name) for k in chosen]
            means[name] = float(np.mean(values)) if len(values) else np.nan
        measured = [measure(faces.points[k], faces.rotation[k], faces.iris[k]) for k in chosen]
        for name in SHOWN_MEASURES:
            keys = [M[f"{name}_right"], M[f"{name}_left"]] if f"{name}_right" in M else [M[name]]
            means[name] = float(np.mean([m[keys].mean() for m in measured])) if measured else np.nan
        rows.append((f"{low}-{high}" if high < 180 else f"{low}+", len(chosen), means))
    return rows


def _expression(values: dict[str, float], name: str) -> float:
    sides = {"Blink": ("Blink_R", "Blink_L"), "eyeWide": ("eyeWideRight", "eyeWideLeft"),
             "browDown": ("browDownRight", "browDownLeft")}
    if name in sides:
        return (values[sides[name][0]] + values[sides[name][1]]) / 2
    return values[name]


def print_table(title: str, faces: Faces) -> None:
    print(f"\n{title}: {len(faces.person)} faces")
    columns = SHOWN + SHOWN_MEASURES
    print(f"{'yaw':>7} {'faces':>5} " + " ".join(f"{c:>11}" for c in columns))
    for bucket, count, means in table(faces):
        print(f"{bucket:>7} {count:>5} " + " ".join(f"{means[c]:>11.3f}" for c in columns))


def dump(faces: Faces, path: Path) -> None:
    from livecap.pose.expressions import NAMES
    values = np.array([[e[n] for n in NAMES] for e in faces.expressions]).reshape(-1, len(NAMES))
    np.savez_compressed(path, person=np.array(faces.person), frame=np.array(faces.frame), time=np.array(faces.time),
                        points=np.array(faces.points).reshape(-1, 478, 3),
                        rotation=np.array(faces.rotation).reshape(-1, 3, 3), iris=np.array(faces.iris),
                        expressions=values)


def draw(video: Path, faces: Faces, folder: Path, tag: str, count: int = 4) -> None:
    """The `count` most turned faces' (one per frame) top expressions written beside them on their frames."""
    yaw = np.array([yaw_degrees(r) for r in faces.rotation])
    order = [k for k in np.argsort(-np.abs(yaw)) if np.abs(yaw[k]) < 60]
    frames = list(dict.fromkeys(faces.frame[k] for k in order))[:count]
    capture = cv2.VideoCapture(str(video))
    for number in frames:
        capture.set(cv2.CAP_PROP_POS_FRAMES, number)
        ok, image = capture.read()
        if not ok:
            continue
        for k in (k for k in range(len(faces.frame)) if faces.frame[k] == number):
            x, y = faces.points[k][:468, :2].min(axis=0)
            right = faces.points[k][:468, 0].max()
            lines = [f"id {faces.person[k]} yaw {yaw[k]:+.0f}"] + [
                f"{n} {v:.2f}" for n, v in sorted(faces.expressions[k].items(), key=lambda t: -t[1])[:5] if v >= 0.05]
            for j, line in enumerate(lines):
                cv2.putText(image, line, (int(right) + 8, int(y) + 22 * j + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                            (0, 255, 255), 2)
            for point in faces.points[k][:468:4, :2]:
                cv2.circle(image, (int(point[0]), int(point[1])), 1, (0, 200, 0), -1)
        cv2.imwrite(str(folder / f"{tag}-{number:04d}.png"), image)
    capture.release()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("videos", nargs="*", type=Path, default=[VIDEO])
    parser.add_argument("--preset", action="append", help="balanced and accurate unless given (repeatable)")
    parser.add_argument("--by-person", action="store_true", help="each person's table too")
    parser.add_argument("--max-frames", type=int)
    parser.add_argument("--dump", type=Path, help="write each run's faces here (npz)")
    parser.add_argument("--frames", type=Path, help="draw a few turned faces' expressions here (png)")
    args = parser.parse_args()
    for video in args.videos:
        for preset in args.preset or ["balanced", "accurate"]:
            live, refined = run(video, preset, args.max_frames)
            for mode, faces in (("live", live), ("refined", refined)):
                tag = f"{video.stem}-{preset}-{mode}"
                print_table(f"{video.name}, {preset} with faces, {mode}", faces)
                for person_id in sorted(set(faces.person)) if args.by_person else ():
                    print_table(f"  person {person_id}", faces.of(person_id))
                if args.dump and faces.person:
                    args.dump.mkdir(parents=True, exist_ok=True)
                    dump(faces, args.dump / f"{tag}.npz")
                if args.frames and faces.person:
                    args.frames.mkdir(parents=True, exist_ok=True)
                    draw(video, faces, args.frames, tag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
