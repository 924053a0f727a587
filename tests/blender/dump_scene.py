"""Run inside Blender on a saved scene: dump the scene's frame rate and range, every armature's animation range and
its pose bones' world-space head positions per scene frame, and every camera's place, as JSON. Usage:
    blender -b SCENE.blend --python-exit-code 1 -P dump_scene.py -- OUT.json
"""

import json
import sys

import bpy

target = sys.argv[sys.argv.index("--") + 1]
scene = bpy.context.scene
armatures = [o for o in scene.objects if o.type == "ARMATURE"]
dump = {"fps": scene.render.fps / scene.render.fps_base, "frame_start": scene.frame_start,
        "frame_end": scene.frame_end, "blender": bpy.app.version_string,
        "cameras": {o.name: {"location": list(o.location), "rotation": list(o.rotation_euler)}
                    for o in scene.objects if o.type == "CAMERA"},
        "armatures": {o.name: {"range": [round(v) for v in o.animation_data.action.frame_range], "frames": {}}
                      for o in armatures}}
for frame in range(scene.frame_start, scene.frame_end + 1):
    scene.frame_set(frame)
    for o in armatures:
        first, last = dump["armatures"][o.name]["range"]
        if first <= frame <= last:
            dump["armatures"][o.name]["frames"][frame] = {b.name: list(o.matrix_world @ b.head) for b in o.pose.bones}
with open(target, "w") as out:
    json.dump(dump, out)
