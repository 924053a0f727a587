"""Forward kinematics of the fitted body model, in numba (arrays in, arrays out).

Parameters x: root translation (3, camera space, metres), root rotation vector (3), then for every joint its
degrees of freedom (see livecap.pose.fitting.model): 3 for a ball joint (a rotation vector), 1 for a hinge (an angle
about a fixed local axis), 0 for a locked joint.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# the solver's inner loops (its own and forward kinematics) may reorder and fuse floating-point operations, which
# lets LLVM vectorise them: the fit runs ~25% faster, its results differ by rounding only. Not "ninf" or "nnan":
# the limits are +-inf where a parameter has none.
FAST = {"reassoc", "contract", "arcp", "nsz"}


@njit(cache=True, fastmath=FAST)
def rotvec_into(vx, vy, vz, out):
    """Rodrigues' formula, written into a 3x3 buffer (no allocation: this runs ~10^4 times per frame)."""
    angle = np.sqrt(vx * vx + vy * vy + vz * vz)
    if angle < 1e-12:
        for a in range(3):
            for b in range(3):
                out[a, b] = 1.0 if a == b else 0.0
        return
    kx, ky, kz = vx / angle, vy / angle, vz / angle
    c, s = np.cos(angle), np.sin(angle)
    t = 1.0 - c
    out[0, 0] = c + kx * kx * t
    out[0, 1] = kx * ky * t - kz * s
    out[0, 2] = kx * kz * t + ky * s
    out[1, 0] = ky * kx * t + kz * s
    out[1, 1] = c + ky * ky * t
    out[1, 2] = ky * kz * t - kx * s
    out[2, 0] = kz * kx * t - ky * s
    out[2, 1] = kz * ky * t + kx * s
    out[2, 2] = c + kz * kz * t


@njit(cache=True, fastmath=FAST)
def _local_rotation_into(x, j, dof_start, dof_count, hinge_axes, out):
    n = dof_count[j]
    if n == 3:
        i = dof_start[j]
        rotvec_into(x[i], x[i + 1], x[i + 2], out)
    elif n == 1:
        angle = x[dof_start[j]]
        rotvec_into(hinge_axes[j, 0] * angle, hinge_axes[j, 1] * angle, hinge_axes[j, 2] * angle, out)
    else:
        rotvec_into(0.0, 0.0, 0.0, out)


@njit(cache=True, fastmath=FAST)
def matmul3_into(a, b, out):
    # hand-written: numba sends `@` to BLAS, whose per-call overhead dwarfs a 3x3 product
    for r in range(3):
        for c in range(3):
            out[r, c] = a[r, 0] * b[0, c] + a[r, 1] * b[1, c] + a[r, 2] * b[2, c]


@njit(cache=True, fastmath=FAST)
def fk_into(x, parents, offsets, dof_start, dof_count, hinge_axes, positions, rotations, scratch):
    """World (camera) positions and rotations of every joint into buffers; joints are ordered parents first."""
    for j in range(parents.shape[0]):
        _local_rotation_into(x, j, dof_start, dof_count, hinge_axes, scratch[0])
        p = parents[j]
        if p < 0:
            rotvec_into(x[3], x[4], x[5], scratch[1])
            matmul3_into(scratch[1], scratch[0], rotations[j])
            for a in range(3):
                positions[j, a] = x[a]
        else:
            matmul3_into(rotations[p], scratch[0], rotations[j])
            for a in range(3):
                positions[j, a] = positions[p, a] + (rotations[p, a, 0] * offsets[j, 0] + rotations[p, a, 1]
                                                     * offsets[j, 1] + rotations[p, a, 2] * offsets[j, 2])


@njit(cache=True)
def forward_kinematics(x, parents, offsets, dof_start, dof_count, hinge_axes):
    n = parents.shape[0]
    positions = np.zeros((n, 3))
    rotations = np.zeros((n, 3, 3))
    fk_into(x, parents, offsets, dof_start, dof_count, hinge_axes, positions, rotations, np.zeros((2, 3, 3)))
    return positions, rotations


@njit(cache=True)
def local_quaternions(rotations, parents):
    """Each joint's rotation relative to its parent as a quaternion (x, y, z, w), from world rotation matrices.
    In numba because scipy's Rotation costs ~0.2 ms a call here, as much as the rest of a person's fit."""
    n = parents.shape[0]
    out = np.zeros((n, 4))
    local = np.zeros((3, 3))
    for j in range(n):
        p = parents[j]
        if p < 0:
            local[:, :] = rotations[j]
        else:
            for r in range(3):  # parent^T @ joint
                for c in range(3):
                    local[r, c] = (rotations[p, 0, r] * rotations[j, 0, c] + rotations[p, 1, r] * rotations[j, 1, c]
                                   + rotations[p, 2, r] * rotations[j, 2, c])
        quaternion_into(local, out[j])
    return out


@njit(cache=True)
def quaternion_into(m, q):
    """Shepperd's method: pick the largest of w, x, y, z to divide by, for accuracy at every angle."""
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > m[0, 0] and trace > m[1, 1] and trace > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + trace)
        q[3], q[0], q[1], q[2] = 0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q[3], q[0], q[1], q[2] = (m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q[3], q[0], q[1], q[2] = (m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q[3], q[0], q[1], q[2] = (m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s
    if q[3] < 0:  # one sign for the same rotation: w >= 0
        for i in range(4):
            q[i] = -q[i]


