"""Run inside Blender: import a BVH with the stock importer (default options) and dump every pose bone's
world-space head position per frame as JSON (and each bone's tail, where a leaf's End Site is). Usage:
    blender -b --factory-startup --python-exit-code 1 -P dump_pose.py -- IN.bvh OUT.json [RENDER_DIR FRAME...]
"""

import builtins
import json
import sys

_open = builtins.open


def _open_without_u(file, mode="r", *args, **kwargs):
    # Blender 3.4's importer opens with mode 'rU', which Python 3.11 rejects (MANIFEST.md of the test media)
    return _open(file, mode.replace("U", "") if isinstance(mode, str) else mode, *args, **kwargs)


builtins.open = _open_without_u

import bpy  # noqa: E402

argv = sys.argv[sys.argv.index("--") + 1:]
source, target = argv[0], argv[1]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_anim.bvh(filepath=source)  # defaults: scale 1, Y up / -Z forward -> Blender Z up, frame_start 1
armature = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
action = armature.animation_data.action
first, last = (int(round(v)) for v in action.frame_range)
frames, tails = [], []
for frame in range(first, last + 1):
    bpy.context.scene.frame_set(frame)
    frames.append({bone.name: list(armature.matrix_world @ bone.head) for bone in armature.pose.bones})
    tails.append({bone.name: list(armature.matrix_world @ bone.tail) for bone in armature.pose.bones})
with _open(target, "w") as out:
    json.dump({"first_frame": first, "rotation_mode": armature.pose.bones[0].rotation_mode, "frames": frames,
               "tails": tails}, out)
