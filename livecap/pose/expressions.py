"""Facial expressions from the face mesh's geometry (pure numpy): blinks, wide eyes, gaze, brows, jaw, the mouth
vowels, smile, frown, pucker and funnel, each 0..1, relative to the person's neutral face.

The measures are taken in the image, level with the outer eye corners and over their distance (the face's scale):
eye and mouth apertures, mouth width, the mouth corners' height, brow height and the irises' place between the eye
corners. Measured so, they follow the ground truth's same quantities on the dev faces more closely than measured in
the mesh's own 3D axes (Spearman, eye aperture 0.80 against 0.63, brows 0.58 against -0.01: the mesh's depth is the
noisier). A head turned aside shortens what runs across the face in the image (the eye corners' distance, the
mouth's and the eyes' widths: by the cosine of the turn) and not what runs up and down it (brows, lids, lips), so
the heights over the image's eye-corner distance grew with the turn, and a face turned 45-60 degrees read as brows
up and jaw open (tools/eval_face_turn.py). The heights are therefore taken over the face's true width: the image's
eye-corner distance over the foreshortening of the head's left-right axis (the image length of its unit vector, from
the head's rotation; `foreshortening`). The rotation is the mesh's own, whose depth is in about x's units: the depth
scale that keeps a rigid height (the eye corners to the nose's base) over the face's true width most constant across
two_people's frames is 1.05 for one man and 0.75-0.85 for the other, so the mesh's is kept. So measured on
two_people, the heights of the nose's base, the upper lip and the chin of the man who faces the camera and then
turns 50 degrees hold within 2 % (over the image's eye-corner distance they grew 57 %), and the brows of the man
seen turned 20-65 degrees within 4 % at accurate, 9 % at balanced (grew 96 %); the first man's brows read 20 % lower
turned (they grew 19 %): he looks down while facing the camera, his upper face alone differs. The mouth's width over
the eye corners' distance is shortened alike above and below and stays as it is; so does each eye's aperture over
its own width, which a turn shrinks together (the eye, recessed and curved, is seen obliquely: the ratio holds
within 10 % on that man, where the aperture over the face's true width halves). The gaze alone is taken in the
head's own axes (the mesh turned by the head's rotation): the iris lies before the eye corners, so in the image a
turn or a nod of the head moves it between them as a look would. An expression is how far a measure is from the
person's neutral face, which follows their head's pose (livecap.pose.neutral: learned from their own frames, the
depth of the face's parts, which moves them against each other as the head turns or nods, differing person to
person), a typical face's on still images. No blendshape model ships in any package here (MediaPipe's is not in
its wheels), hence geometry.

Names: VRM 0.x presets where VRM 0.x has one, else ARKit's (one table, EXPRESSIONS, also gives each expression's
VRM 1.0 and ARKit names). "Left" and "right" are the subject's own: LookLeft is a look to their left.
"""

from __future__ import annotations

import numpy as np

from livecap.facemesh import (BROW, EYE_INNER, EYE_OUTER, INNER_LIP_LOWER, INNER_LIP_UPPER, IRIS_START, LOWER_LID,
                              MOUTH_CORNER, SIDES, UPPER_LID)

# (livecap name, VRM 0.x preset or None, VRM 1.0 expression or None, ARKit blendshapes), one row per expression
EXPRESSIONS: tuple[tuple[str, str | None, str | None, tuple[str, ...]], ...] = (
    ("Blink_R", "Blink_R", "blinkRight", ("eyeBlinkRight",)),
    ("Blink_L", "Blink_L", "blinkLeft", ("eyeBlinkLeft",)),
    ("eyeWideRight", None, None, ("eyeWideRight",)),
    ("eyeWideLeft", None, None, ("eyeWideLeft",)),
    ("LookUp", "LookUp", "lookUp", ("eyeLookUpLeft", "eyeLookUpRight")),
    ("LookDown", "LookDown", "lookDown", ("eyeLookDownLeft", "eyeLookDownRight")),
    ("LookLeft", "LookLeft", "lookLeft", ("eyeLookOutLeft", "eyeLookInRight")),
    ("LookRight", "LookRight", "lookRight", ("eyeLookInLeft", "eyeLookOutRight")),
    ("browInnerUp", None, None, ("browInnerUp", "browOuterUpLeft", "browOuterUpRight")),
    ("browDownRight", None, None, ("browDownRight",)),
    ("browDownLeft", None, None, ("browDownLeft",)),
    ("jawOpen", None, None, ("jawOpen",)),
    ("A", "A", "aa", ()),
    ("I", "I", "ih", ()),
    ("U", "U", "ou", ()),
    ("E", "E", "ee", ()),
    ("O", "O", "oh", ()),
    ("mouthSmile", None, None, ("mouthSmileLeft", "mouthSmileRight")),
    ("mouthFrown", None, None, ("mouthFrownLeft", "mouthFrownRight")),
    ("mouthPucker", None, None, ("mouthPucker",)),
    ("mouthFunnel", None, None, ("mouthFunnel",)),
    ("Joy", "Joy", "happy", ()),
    ("Fun", "Fun", "relaxed", ()),
    ("Angry", "Angry", "angry", ()),
    ("Sorrow", "Sorrow", "sad", ()),
    ("Surprised", None, "surprised", ()),
)
NAMES = tuple(row[0] for row in EXPRESSIONS)
SCHEMES = ("livecap", "vrm0", "vrm1", "arkit")

# the measures, in this order (livecap.pose.expressions.measure)
MEASURES = ("eye_open_right", "eye_open_left", "brow_right", "brow_left", "mouth_open", "mouth_width",
            "corner_lift", "gaze_x", "gaze_y")
M = {name: i for i, name in enumerate(MEASURES)}
# A typical neutral face's measures, livecap's own (the mesh's, heights over the face's true width): per measure the
# value that reads the dev faces at rest as least expressive (the mean over people of the expressions it drives),
# from the 9 stills of 300-W, WFLW and 300-VW (300-VW's two frames are one woman) and two_people's two men (each the
# median of his faces turned under 30 degrees), alike at balanced and accurate, each measure without the faces that
# show its expression (the footballer's squint and grimace, the old man's near-shut eyes, the smiles' mouths).
# People differ (brows 0.12-0.26) and the expressions ramp unevenly (brows down over 0.04, up over 0.06; eyes wide
# at 1.4 x, shut at 0.3 x), so it is not the people's median: brows 0.145 (median 0.165, where they read 0.63 on
# average against 0.52), eyes 0.31 (median 0.28-0.29), mouth width 0.54 (0.535), the corners' lift 0.0 (0.027; it
# follows the head's nod: 0.03-0.05 on the faces seen from 11-25 degrees above). The mouth's aperture, read one way
# only: the median, 0.01. The iris sits a little above the eye corners' line, in the head's axes 0.06 of the eye's
# width. The neutral on still images, and what a person's own is weighed against until it is learned
# (livecap.pose.neutral.ExpressionState).
TYPICAL_NEUTRAL = np.array([0.31, 0.31, 0.145, 0.145, 0.01, 0.54, 0.0, 0.0, -0.06])
# How far from neutral each expression is full (1.0), in the measure's units: eye apertures and the mouth's width
# as shares of neutral, heights over the eye corners' distance, gaze over the eye's width. On the dev faces smiles
# lift the mouth corners 0.03-0.08, a look aside puts the iris 0.1 from the eye's middle.
BLINK_CLOSED = 0.3  # an eye open this share of its neutral aperture is closed
EYE_WIDE_FULL = 0.4  # an eye open 1.4 x its neutral is wide open
BROW_UP_FULL, BROW_DOWN_FULL = 0.06, 0.04
JAW_OPEN_FULL = 0.35  # inner lips this far apart: the jaw wide open
WIDEN_FULL, NARROW_FULL = 0.15, 0.2  # the mouth 15 % wider, 20 % narrower than neutral
CORNER_UP_FULL, CORNER_DOWN_FULL = 0.06, 0.03
GAZE_SIDE_FULL, GAZE_UP_FULL = 0.15, 0.08


def _face_plane(points: np.ndarray) -> np.ndarray:
    """The points' x, y turned level with the outer eye corners (x: towards the left eye, y: down), centred between
    them, in units of their distance."""
    right, left = (np.asarray(points[EYE_OUTER[side], :2], np.float64) for side in SIDES)
    scale = max(float(np.linalg.norm(left - right)), 1e-9)
    across = (left - right) / scale
    turn = np.array([across, [-across[1], across[0]]])  # rows: the level x and y axes
    return (np.asarray(points[:, :2], np.float64) - (right + left) / 2) @ turn.T / scale


def foreshortening(rotation: np.ndarray) -> float:
    """How much the head's turn shortens lengths across the face in the image: the image length of the head's unit
    left-right axis (FacePose.rotation's first column), 1 facing the camera, cos(45 degrees) turned 45 degrees aside;
    a nod or a tilt of the head alone leaves it 1."""
    return float(np.linalg.norm(np.asarray(rotation, np.float64)[:2, 0]))


def _gaze(points478: np.ndarray, rotation: np.ndarray, side: str) -> np.ndarray:
    """One iris's place from its eye corners' middle (x: towards the left eye, y: down) over the eye's width, in
    the head's own axes (the mesh's x, y, z turned by `rotation`, FacePose.rotation): the eye's turn in the head.
    In the image the iris, which lies before the eye corners, would also shift as the head turns or nods with the
    eyes still in it (a turn of 30 degrees read as a look aside of 0.46 on the dev faces' meshes), and the eye
    joints would turn twice, once with the head."""
    corners = np.asarray(points478[[EYE_OUTER[side], EYE_INNER[side]]], np.float64)
    iris = np.asarray(points478[IRIS_START[side]], np.float64)
    offset, width = (iris - corners.mean(axis=0)) @ rotation, (corners[1] - corners[0]) @ rotation
    return offset[:2] / max(float(np.linalg.norm(width[:2])), 1e-9)


def measure(points478: np.ndarray, rotation: np.ndarray, iris: bool = True) -> np.ndarray:
    """The face's measures (MEASURES) from its 478 points (x, y, z pixels) and the head's rotation
    (FacePose.rotation: the gaze is taken in the head's axes, the heights over the face's true width); the gaze
    NaN where the irises were not measured (`iris` False)."""
    p = _face_plane(points478)
    height = p[:, 1] * foreshortening(rotation)  # up and down the face, over its width un-shortened
    out = np.zeros(len(MEASURES))
    gaze = []
    for side in SIDES:
        outer, inner = p[EYE_OUTER[side]], p[EYE_INNER[side]]
        width = max(float(np.linalg.norm(inner - outer)), 1e-9)
        upper = p[list(UPPER_LID[side]), 1].mean()
        out[M[f"eye_open_{side}"]] = (p[list(LOWER_LID[side]), 1].mean() - upper) / width
        out[M[f"brow_{side}"]] = height[list(UPPER_LID[side])].mean() - height[list(BROW[side])].mean()
        if iris:
            gaze.append(_gaze(points478, rotation, side))
    out[M["mouth_open"]] = height[INNER_LIP_LOWER] - height[INNER_LIP_UPPER]
    corners = p[[MOUTH_CORNER["right"], MOUTH_CORNER["left"]]]
    out[M["mouth_width"]] = np.linalg.norm(corners[1] - corners[0])
    lips = (height[INNER_LIP_UPPER] + height[INNER_LIP_LOWER]) / 2
    out[M["corner_lift"]] = lips - height[[MOUTH_CORNER["right"], MOUTH_CORNER["left"]]].mean()  # y down: up is +
    out[M["gaze_x"]], out[M["gaze_y"]] = np.mean(gaze, axis=0) if gaze else (np.nan, np.nan)
    return out


def _ramp(value: float, full: float) -> float:
    """0 at or below 0, 1 at or beyond `full`."""
    return float(np.clip(value / full, 0.0, 1.0))


def expressions(measures: np.ndarray, neutral: np.ndarray = TYPICAL_NEUTRAL) -> dict[str, float]:
    """Every expression (NAMES), 0..1, from the face's measures relative to the neutral face's."""
    m, n = measures, neutral
    out: dict[str, float] = {}
    for side, tag in (("right", "R"), ("left", "L")):
        ratio = m[M[f"eye_open_{side}"]] / max(n[M[f"eye_open_{side}"]], 1e-6)
        out[f"Blink_{tag}"] = _ramp(1.0 - ratio, 1.0 - BLINK_CLOSED)
        out[f"eyeWide{side.title()}"] = _ramp(ratio - 1.0, EYE_WIDE_FULL)
        out[f"browDown{side.title()}"] = _ramp(n[M[f"brow_{side}"]] - m[M[f"brow_{side}"]], BROW_DOWN_FULL)
    gaze_x, gaze_y = np.nan_to_num(m[[M["gaze_x"], M["gaze_y"]]] - n[[M["gaze_x"], M["gaze_y"]]])  # unmeasured: 0
    out.update(LookLeft=_ramp(gaze_x, GAZE_SIDE_FULL), LookRight=_ramp(-gaze_x, GAZE_SIDE_FULL),
               LookDown=_ramp(gaze_y, GAZE_UP_FULL), LookUp=_ramp(-gaze_y, GAZE_UP_FULL))
    brows = (m[M["brow_right"]] + m[M["brow_left"]] - n[M["brow_right"]] - n[M["brow_left"]]) / 2
    out["browInnerUp"] = _ramp(brows, BROW_UP_FULL)
    jaw = _ramp(m[M["mouth_open"]] - n[M["mouth_open"]], JAW_OPEN_FULL)
    widening = m[M["mouth_width"]] / max(n[M["mouth_width"]], 1e-6) - 1.0
    wide, narrow = _ramp(widening, WIDEN_FULL), _ramp(-widening, NARROW_FULL)
    lift = m[M["corner_lift"]] - n[M["corner_lift"]]
    smile = float(np.clip(0.5 * _ramp(lift, CORNER_UP_FULL) + 0.5 * wide * (lift > 0), 0.0, 1.0))
    frown = _ramp(-lift, CORNER_DOWN_FULL)
    out.update(jawOpen=jaw, mouthSmile=smile, mouthFrown=frown, mouthPucker=narrow * (1.0 - jaw),
               mouthFunnel=narrow * jaw)
    out.update(_vowels(jaw, wide, narrow))
    laugh = min(2.0 * jaw, 1.0)
    out.update(Joy=smile * laugh, Fun=smile * (1.0 - laugh), Angry=(out["browDownRight"] + out["browDownLeft"]) / 2
               * (1.0 - smile), Sorrow=frown * (1.0 - smile), Surprised=out["browInnerUp"] * max(jaw, max(
                   out["eyeWideRight"], out["eyeWideLeft"])))
    return {name: round(float(out[name]), 4) for name in NAMES}


def _vowels(jaw: float, wide: float, narrow: float) -> dict[str, float]:
    """The mouth's shape as the vowels' visemes: A open, I spread and nearly closed, U rounded and nearly closed,
    E spread and half open, O rounded and open; scaled down together where they add up to more than 1."""
    half = 1.0 - abs(2.0 * jaw - 1.0)  # 1 at a half-open jaw
    shapes = {"A": jaw * (1.0 - narrow) * (1.0 - 0.5 * wide), "I": wide * (1.0 - jaw), "U": narrow * (1.0 - jaw),
              "E": wide * half, "O": narrow * jaw}
    total = sum(shapes.values())
    return {k: v / total for k, v in shapes.items()} if total > 1.0 else shapes


def named(values: dict[str, float], scheme: str = "livecap") -> dict[str, float]:
    """The expressions under one naming scheme (SCHEMES): livecap's own names (VRM 0.x presets, else ARKit's), VRM
    0.x presets only, VRM 1.0 expressions only, or ARKit blendshapes (several may share one value)."""
    if scheme == "livecap":
        return dict(values)
    column = SCHEMES.index(scheme)
    out = {}
    for row in EXPRESSIONS:
        targets = row[column] if scheme == "arkit" else (row[column],) if row[column] else ()
        for target in targets:
            out[target] = values[row[0]]
    return out
