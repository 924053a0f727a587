"""Run inside Blender (3.4 and 4.x): import every person's BVH file of a livecap take into one scene, in metres.

    blender --factory-startup -P blender_import.py -- FILE.bvh... [--save scene.blend]
    blender -b --factory-startup --python-exit-code 1 -P blender_import.py -- FILE.bvh... --save scene.blend

`livecap bvh blender FILE...` runs this. It uses Blender's own BVH importer and nothing of livecap (Blender's Python
has no livecap). Per file, the sidecar `FILE.bvh.json` that livecap writes beside it gives:
- units: `cm` files are imported at scale 0.01, `m` at 1, so every armature is in metres (without a sidecar the
  units are guessed from the skeleton's size);
- start_time and fps: each person's animation starts at the scene frame of their first sighting (frame 1 = the
  start of the source), so people who came later stay in step; the scene takes the files' frame rate;
- floor_y: people stand on the ground plane (z = 0) already; a camera object is placed where the real camera was,
  -floor_y above the ground at the origin, looking along +Y (the file's -Z, away from the viewer).
The scene is emptied first. Prints one line per file imported.
"""

import argparse
import builtins
import json
import math
import os
import sys

_open = builtins.open


def _open_without_u(file, mode="r", *args, **kwargs):
    # Blender 3.4's BVH importer opens files with mode 'rU', which Python 3.11 rejects; 'U' has meant nothing since
    # Python 3 (universal newlines are the default), so dropping it changes nothing elsewhere
    if isinstance(mode, str):
        mode = mode.replace("U", "")
    return _open(file, mode, *args, **kwargs)


builtins.open = _open_without_u

import bpy  # noqa: E402  (after the open() wrapper: the importer module may open files as it loads)


def sidecar(path):
    """livecap's record beside the file; {} for a BVH file from elsewhere."""
    try:
        with _open(path + ".json") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def guess_scale(path):
    """0.01 when the skeleton's offsets are centimetres (any bone longer than 5 units), else 1."""
    longest = 0.0
    with _open(path) as f:
        for line in f:
            words = line.split()
            if words and words[0] == "MOTION":
                break
            if len(words) == 4 and words[0] == "OFFSET":
                longest = max(longest, math.sqrt(sum(float(v) ** 2 for v in words[1:])))
    return 0.01 if longest > 5 else 1.0


def frame_time(path):
    with _open(path) as f:
        for line in f:
            if line.strip().startswith("Frame Time:"):
                return float(line.split(":", 1)[1])
    return 1 / 30


def set_scene_fps(scene, fps):
    whole = max(1, round(fps))
    scene.render.fps = whole
    scene.render.fps_base = whole / fps


def empty_scene():
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj, do_unlink=True)


def add_camera(name, height):
    data = bpy.data.cameras.new(name)
    camera = bpy.data.objects.new(name, data)
    camera.location = (0.0, 0.0, height)
    camera.rotation_euler = (math.pi / 2, 0.0, 0.0)  # a camera looks along its -Z: turned to look along +Y
    bpy.context.scene.collection.objects.link(camera)
    return camera


def import_take(paths):
    scene = bpy.context.scene
    scene_fps, last_frame, cameras = None, 1, {}
    for path in paths:
        record = sidecar(path)
        units = record.get("units")
        scale = {"cm": 0.01, "m": 1.0}.get(units) or guess_scale(path)
        fps = float(record.get("fps") or 1 / frame_time(path))
        if scene_fps is None:
            scene_fps = fps
            set_scene_fps(scene, fps)
        start = 1 + max(0, round(float(record.get("start_time") or 0.0) * scene_fps))
        before = set(bpy.data.objects)
        bpy.ops.import_anim.bvh(filepath=path, global_scale=scale, frame_start=start,
                                use_fps_scale=abs(fps - scene_fps) > 1e-6, rotate_mode="NATIVE",
                                axis_forward="-Z", axis_up="Y")
        armature = next(o for o in bpy.data.objects if o not in before and o.type == "ARMATURE")
        first, last = (round(v) for v in armature.animation_data.action.frame_range)
        last_frame = max(last_frame, last)
        if "floor_y" in record:
            take = record.get("take") or ""
            if take not in cameras:
                cameras[take] = add_camera(f"livecap camera {take}".strip(), -float(record["floor_y"]))
        print(f"imported {path} as {armature.name}: frames {first}-{last} at {scene_fps:g} fps, scale {scale:g} "
              f"({units or 'units guessed'})")
    scene.frame_start, scene.frame_end = 1, last_frame
    scene.frame_set(1)


def main(argv):
    parser = argparse.ArgumentParser(prog="blender_import.py", description="import livecap BVH takes")
    parser.add_argument("files", nargs="+", metavar="FILE.bvh")
    parser.add_argument("--save", metavar="SCENE.blend", help="save the scene to this file")
    args = parser.parse_args(argv)
    empty_scene()
    import_take([os.path.abspath(p) for p in args.files])
    if args.save:
        bpy.ops.wm.save_as_mainfile(filepath=os.path.abspath(args.save))
        print(f"saved {os.path.abspath(args.save)}")


if __name__ == "__main__":
    main(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else [])
