"""The face mesh, defined once: MediaPipe's 478 face points (468 mesh points, then the iris of the subject's right
eye, 468-472, and of their left eye, 473-477: each centre first, then four points of its rim), the keypoint scheme
the face landmark model speaks (`FACE478`), and the points the crops, the head rotation and the expressions are
measured on.

"Right" and "left" are the subject's: their right eye is on the image's left when they face the camera. The
indices are MediaPipe's canonical face mesh (its face_mesh_connections and iris tracking graphs)."""

from __future__ import annotations

import numpy as np

from livecap.keypoints import KeypointScheme

MESH_POINTS = 468
IRIS_POINTS = 5
FACE_POINTS = MESH_POINTS + 2 * IRIS_POINTS  # 478
SIDES = ("right", "left")  # the iris order: 468-472 is the right eye's, 473-477 the left's

# The points code reads by name: where a body model (BlazePose) has the same point, its name (the irises' centres
# are the eyes, the face's edge beside each eye is its ear: where the body's face points lie on the mesh); the
# irises' rims; the inner lips' middle points. The other mesh points are "mesh_<index>" (and have no twin listed).
NAMED_POINTS = {
    1: "nose", 33: "right_eye_outer", 133: "right_eye_inner", 263: "left_eye_outer", 362: "left_eye_inner",
    61: "mouth_right", 291: "mouth_left", 13: "upper_lip_inner", 14: "lower_lip_inner", 234: "right_ear",
    454: "left_ear",
    **{MESH_POINTS + i: f"right_iris_{i}" if i else "right_eye" for i in range(IRIS_POINTS)},
    **{MESH_POINTS + IRIS_POINTS + i: f"left_iris_{i}" if i else "left_eye" for i in range(IRIS_POINTS)},
}
FACE478 = KeypointScheme("mediapipe_face478", tuple(NAMED_POINTS.get(i, f"mesh_{i}") for i in range(FACE_POINTS)))

IRIS_START = {side: FACE478.index(f"{side}_eye") for side in SIDES}  # each iris's centre, then its rim
# each eye's corners, outer then inner, and its lids' middle three points (upper, lower: in matching order)
EYE_OUTER = {side: FACE478.index(f"{side}_eye_outer") for side in SIDES}
EYE_INNER = {side: FACE478.index(f"{side}_eye_inner") for side in SIDES}
UPPER_LID = {"right": (160, 159, 158), "left": (387, 386, 385)}
LOWER_LID = {"right": (144, 145, 153), "left": (373, 374, 380)}
# each brow's upper edge, outer to inner
BROW = {"right": (70, 63, 105, 66, 107), "left": (300, 293, 334, 296, 336)}
# the mouth: outer corners, the inner lips' middle points
MOUTH_CORNER = {side: FACE478.index(f"mouth_{side}") for side in SIDES}
INNER_LIP_UPPER, INNER_LIP_LOWER = FACE478.index("upper_lip_inner"), FACE478.index("lower_lip_inner")
NOSE_TIP = FACE478.index("nose")
# points on either side of the face's midline, right then left: the head's left-right axis
SYMMETRIC_PAIRS = ((33, 263), (133, 362), (61, 291), (234, 454), (127, 356), (93, 323), (132, 361), (58, 288))
# points along the midline, top to bottom: the head's up-down axis
MIDLINE = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 164, 0, 17, 18, 200, 199, 175, 152)

# The iris model's 71 points of one eye (contour, its halos and the brow) in the mesh, the right eye's then the
# left's (MediaPipe's iris tracking graph, UpdateFaceLandmarksCalculator): they replace those mesh points.
EYE_REFINED = {
    "right": np.array([
        33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173, 130, 25, 110, 24, 23, 22, 26,
        112, 243, 247, 30, 29, 27, 28, 56, 190, 226, 31, 228, 229, 230, 231, 232, 233, 244, 113, 225, 224, 223, 222,
        221, 189, 35, 124, 46, 53, 52, 65, 143, 111, 117, 118, 119, 120, 121, 128, 245, 156, 70, 63, 105, 66, 107, 55,
        193]),
    "left": np.array([
        263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398, 359, 255, 339, 254, 253, 252,
        256, 341, 463, 467, 260, 259, 257, 258, 286, 414, 446, 261, 448, 449, 450, 451, 452, 453, 464, 342, 445, 444,
        443, 442, 441, 413, 265, 353, 276, 283, 282, 295, 372, 340, 346, 347, 348, 349, 350, 357, 465, 383, 300, 293,
        334, 296, 336, 285, 417]),
}
EYE_CONTOUR = 16  # the first 16 of those 71 are the eye's own contour: the iris's depth is their mean depth

# a body model's points of the face, by name: nose, eyes (inner, centre, outer; left then right), ears, mouth corners
BODY_FACE_POINTS = ("nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
                    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right")
# the mesh point nearest each of them (the irises' centres for the eyes, the face's edge at the ears)
BODY_FACE_IN_MESH = tuple(FACE478.index(point) for point in BODY_FACE_POINTS)

# The face's outlines as polylines (MediaPipe's face_mesh_connections: oval, lips, eyes, brows, irises), for drawing
# it lightly: 132 segments instead of the mesh's 2,500
FACE_CONTOURS = (
    (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149,
     150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109, 10),
    (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291), (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291),
    (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308), (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308),
    (33, 7, 163, 144, 145, 153, 154, 155, 133), (33, 246, 161, 160, 159, 158, 157, 173, 133),
    (263, 249, 390, 373, 374, 380, 381, 382, 362), (263, 466, 388, 387, 386, 385, 384, 398, 362),
    (46, 53, 52, 65, 55), (70, 63, 105, 66, 107), (276, 283, 282, 295, 285), (300, 293, 334, 296, 336),
    (469, 470, 471, 472, 469), (474, 475, 476, 477, 474))
FACE_EDGES = np.array([(a, b) for line in FACE_CONTOURS for a, b in zip(line[:-1], line[1:])], np.intp)
