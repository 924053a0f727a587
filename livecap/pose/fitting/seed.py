"""An analytic starting pose for the fit: every bone turned straight onto the landmarks, top-down from the hips.

The least-squares fit only refines: started from the T-pose or from last frame's pose after a fast move, it can
settle with a limb bent the wrong way or the body facing backwards. This seed reads the answer off the landmarks
directly. Each bone takes the smallest turn (swing) from where its parent carries it onto the observed direction;
the twist about it comes from a side line (hips, shoulders) or from the plane its hinge child bends in (an elbow
or knee), and where that plane is lost (a straight limb) from the parent's own frame, as in the rest pose.

Parameter layout and joint axes as in livecap.pose.fitting.model and livecap.pose.fitting.solver.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from livecap.pose.fitting.kinematics import fk_into, rotvec_into

STRAIGHT = 0.15  # sin of the bend below which a limb's own bend plane gives way to the parent's frame
SLIGHT = 0.05  # metres: an elbow or knee this close to the line from its limb's top to its end is unbent


@njit(cache=True)
def _mul(a, b):
    """3x3 product, hand-written: numba sends `@` to BLAS, whose per-call overhead dwarfs the product."""
    out = np.empty((3, 3))
    for r in range(3):
        for c in range(3):
            out[r, c] = a[r, 0] * b[0, c] + a[r, 1] * b[1, c] + a[r, 2] * b[2, c]
    return out


@njit(cache=True)
def _apply(m, v):
    return np.array([m[0, 0] * v[0] + m[0, 1] * v[1] + m[0, 2] * v[2], m[1, 0] * v[0] + m[1, 1] * v[1]
                     + m[1, 2] * v[2], m[2, 0] * v[0] + m[2, 1] * v[1] + m[2, 2] * v[2]])


@njit(cache=True)
def _unit(v):
    n = np.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    if n < 1e-9:
        return v * 0.0
    return v / n


@njit(cache=True)
def _perpendicular(v, axis):
    """v without its component along the unit `axis`."""
    return v - axis * (v[0] * axis[0] + v[1] * axis[1] + v[2] * axis[2])


@njit(cache=True)
def _frame(x, y_hint):
    """A rotation whose first column is unit x and whose second lies in the plane of x and y_hint."""
    out = np.empty((3, 3))
    y = _unit(_perpendicular(y_hint, x))
    z = np.cross(x, y)
    for a in range(3):
        out[a, 0], out[a, 1], out[a, 2] = x[a], y[a], z[a]
    return out


@njit(cache=True)
def _columns(x, y, z):
    out = np.empty((3, 3))
    for a in range(3):
        out[a, 0], out[a, 1], out[a, 2] = x[a], y[a], z[a]
    return out


@njit(cache=True)
def rotvec_of(m):
    """The rotation vector of a rotation matrix (log map), accurate near 0 and near 180 degrees."""
    cos_angle = min(1.0, max(-1.0, 0.5 * (m[0, 0] + m[1, 1] + m[2, 2] - 1.0)))
    angle = np.arccos(cos_angle)
    v = np.array([m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1]])
    if angle < 1e-6:
        return 0.5 * v
    if angle < np.pi - 1e-3:
        return v * (angle / (2.0 * np.sin(angle)))
    # near a half turn: the axis from the diagonal, its sign from the (small) antisymmetric part
    axis = np.array([np.sqrt(max(0.0, (m[0, 0] + 1.0) / 2.0)), np.sqrt(max(0.0, (m[1, 1] + 1.0) / 2.0)),
                     np.sqrt(max(0.0, (m[2, 2] + 1.0) / 2.0))])
    k = np.argmax(axis)
    for a in range(3):
        if a != k:
            axis[a] = (m[k, a] + m[a, k]) / (4.0 * axis[k])
    if axis[0] * v[0] + axis[1] * v[1] + axis[2] * v[2] < 0:
        axis = -axis
    return _unit(axis) * angle


@njit(cache=True)
def swing(a, b):
    """The smallest rotation taking unit direction a onto unit direction b."""
    axis = np.cross(a, b)
    s = np.sqrt(axis[0] ** 2 + axis[1] ** 2 + axis[2] ** 2)
    c = a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
    out = np.empty((3, 3))
    if s < 1e-9:
        if c > 0:
            return np.eye(3)
        helper = np.array([1.0, 0.0, 0.0]) if abs(a[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        axis = _unit(np.cross(a, helper))
        rotvec_into(np.pi * axis[0], np.pi * axis[1], np.pi * axis[2], out)
        return out
    angle = np.arctan2(s, c)
    rotvec_into(axis[0] / s * angle, axis[1] / s * angle, axis[2] / s * angle, out)
    return out


@njit(cache=True)
def _set_ball(params, start, parent_world, world):
    local = _mul(parent_world.T, world)
    v = rotvec_of(local)
    params[start], params[start + 1], params[start + 2] = v[0], v[1], v[2]


@njit(cache=True)
def _two_bone_middle(top, middle, end, upper, lower, trust, default_out):
    """Where the middle joint (elbow, knee) goes so both bones keep their lengths and the end is reached (or
    pointed at when out of reach): bent towards the observed middle, or with a `trust` (visibility) below one,
    partly towards default_out, the side a limb usually bends to."""
    reach = end - top
    c = np.sqrt(reach[0] ** 2 + reach[1] ** 2 + reach[2] ** 2)
    axis = _unit(reach)
    if c < 1e-6:
        return middle
    c = min(max(c, abs(upper - lower) + 1e-3), upper + lower - 1e-3)
    along = (upper * upper - lower * lower + c * c) / (2.0 * c)
    seen = _perpendicular(middle - top, axis) * trust
    usual = _perpendicular(default_out, axis)
    if _length(seen) < SLIGHT and seen[0] * usual[0] + seen[1] * usual[1] + seen[2] * usual[2] < 0:
        seen = seen * 0.0  # a slight bend to the unusual side is noise (knees bend forward, elbows back)
    out = seen + usual * (1e-3 + 0.1 * (1 - trust))
    return top + axis * along + _unit(out) * np.sqrt(max(upper * upper - along * along, 0.0))


@njit(cache=True)
def _hinged_limb(target, top, middle, end, parent_world, rest_direction, bend_axis, side):
    """World rotation of a limb's upper bone and its hinge angle. rest_direction: the bone in its parent's
    frame at rest (x for arms, -y for legs); bend_axis: the upper bone's local axis its child bends towards
    (+z for elbows, -z for knees); side: +1 or -1 when the rest direction is -x (the right arm)."""
    u = _unit(target[middle] - target[top])
    f = _unit(target[end] - target[middle])
    parent_direction = _apply(parent_world, rest_direction)
    rest_swing = _mul(swing(_unit(parent_direction), u), parent_world)  # the parent's frame carried onto u
    default_bend = _apply(rest_swing, bend_axis)
    bend = _perpendicular(f, u)
    size = np.sqrt(bend[0] ** 2 + bend[1] ** 2 + bend[2] ** 2)
    if size < STRAIGHT:  # nearly straight: the bend plane is noise, lean on the parent's frame
        if bend[0] * default_bend[0] + bend[1] * default_bend[1] + bend[2] * default_bend[2] < 0:
            bend = default_bend  # a slight bend the wrong way is a straight limb, not a twisted one
        else:
            bend = bend + default_bend * (STRAIGHT - size)
    bend = _unit(bend)
    angle = np.arctan2(f[0] * bend[0] + f[1] * bend[1] + f[2] * bend[2], f[0] * u[0] + f[1] * u[1] + f[2] * u[2])
    if rest_direction[1] != 0.0:  # a leg: y = -u, z = -bend
        y, z = -u, -bend
        return _columns(np.cross(y, z), y, z), angle
    x = u * side
    return _columns(x, np.cross(bend, x), bend), angle


@njit(cache=True)
def analytic_seed(observed, weight, offsets, dof_start, num_params, toe_direction, joints):
    """Joint parameters (root translation zero) for hip-centred joint targets (J x 3, camera axes) seen with
    `weight` (0..1). joints: indices of Hips, Spine, Chest, Neck, Head, then per side (left, right) UpperArm,
    LowerArm, Hand, UpperLeg, LowerLeg, Foot, Toes."""
    params = np.zeros(num_params)
    target = observed.copy()
    hips, spine, chest, neck, head = joints[0], joints[1], joints[2], joints[3], joints[4]
    l_arm, l_fore, l_hand, l_leg, l_shin, l_foot, l_toes = joints[5:12]
    r_arm, r_fore, r_hand, r_leg, r_shin, r_foot, r_toes = joints[12:19]
    up = target[neck] - target[hips]
    thighs_up = target[l_leg] + target[r_leg] - target[l_shin] - target[r_shin]
    # the pelvis takes half the bend between the thighs and the torso (sitting tilts it back, bending over
    # forward); how the bend splits is unobservable, this is the rest between the two extremes
    root = _frame(_unit(target[l_leg] - target[r_leg]), _unit(up) + _unit(thighs_up))
    params[3:6] = rotvec_of(root)
    torso = _frame(_unit(target[l_arm] - target[r_arm]), up)
    half = rotvec_of(_mul(root.T, torso)) * 0.5  # the turn from pelvis to chest, shared by Spine and Chest
    params[dof_start[spine]:dof_start[spine] + 3] = half
    params[dof_start[chest]:dof_start[chest] + 3] = half
    head_swing = _mul(swing(np.ascontiguousarray(torso[:, 1]), _unit(target[head] - target[neck])), torso)
    _set_ball(params, dof_start[neck], torso, head_swing)
    x_axis, down, forward, back = (np.array([1.0, 0.0, 0.0]), np.array([0.0, -1.0, 0.0]),
                                   np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, -1.0]))
    elbows_out = -np.ascontiguousarray(torso[:, 2])  # elbows stick out backwards, knees over the toes
    for top, mid, end, usual in ((l_arm, l_fore, l_hand, elbows_out), (r_arm, r_fore, r_hand, elbows_out),
                                 (l_leg, l_shin, l_foot, _unit(target[l_toes] - target[l_foot])),
                                 (r_leg, r_shin, r_foot, _unit(target[r_toes] - target[r_foot]))):
        target[mid] = _two_bone_middle(target[top], target[mid], target[end], _length(offsets[mid]),
                                       _length(offsets[end]), min(weight[mid], 1.0), usual)
    for arm, fore, hand, side in ((l_arm, l_fore, l_hand, 1.0), (r_arm, r_fore, r_hand, -1.0)):
        world, angle = _hinged_limb(target, arm, fore, hand, torso, x_axis * side, forward, side)
        _set_ball(params, dof_start[arm], torso, world)
        params[dof_start[fore]] = angle
    for leg, shin, foot, toes in ((l_leg, l_shin, l_foot, l_toes), (r_leg, r_shin, r_foot, r_toes)):
        world, angle = _hinged_limb(target, leg, shin, foot, root, down, back, 1.0)
        _set_ball(params, dof_start[leg], root, world)
        params[dof_start[shin]] = angle
        shin_world = _mul(world, _axis_rotation(x_axis, angle))
        foot_world = _mul(swing(_unit(_apply(shin_world, toe_direction)), _unit(target[toes] - target[foot])),
                          shin_world)
        _set_ball(params, dof_start[foot], shin_world, foot_world)
    return params


@njit(cache=True)
def _length(v):
    return np.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])


@njit(cache=True)
def _axis_rotation(axis, angle):
    out = np.empty((3, 3))
    rotvec_into(axis[0] * angle, axis[1] * angle, axis[2] * angle, out)
    return out


@njit(cache=True)
def _accumulate(normal, rhs, w, a0, a1, a2, value):
    row = (a0, a1, a2)
    for a in range(3):
        rhs[a] += w * row[a] * value
        for b in range(3):
            normal[a, b] += w * row[a] * row[b]


@njit(cache=True)
def place_root(params, parents, offsets, dof_start, dof_count, hinge_axes, target2d, weight2d, camera, depth):
    """Sets the root translation that best projects the posed skeleton onto the 2D targets (linear least
    squares in x, y, z); keeps `depth` when the 2D targets cannot fix it."""
    n = parents.shape[0]
    positions = np.zeros((n, 3))
    rotations = np.zeros((n, 3, 3))
    params[0], params[1], params[2] = 0.0, 0.0, 0.0
    fk_into(params, parents, offsets, dof_start, dof_count, hinge_axes, positions, rotations, np.zeros((2, 3, 3)))
    normal = np.zeros((3, 3))
    rhs = np.zeros(3)
    count = 0
    for j in range(n):
        w = weight2d[j] * weight2d[j]
        if w <= 0:
            continue
        count += 1
        u, v = target2d[j, 0] - camera[2], target2d[j, 1] - camera[3]
        px, py, pz = positions[j, 0], positions[j, 1], positions[j, 2]
        _accumulate(normal, rhs, w, camera[0], 0.0, -u, u * pz - camera[0] * px)
        _accumulate(normal, rhs, w, 0.0, camera[1], -v, v * pz - camera[1] * py)
    if count >= 3 and abs(np.linalg.det(normal)) > 1e-12:
        t = np.linalg.solve(normal, rhs)
        if t[2] > 0.3:
            params[0], params[1], params[2] = t[0], t[1], t[2]
            return
    params[2] = depth
