"""Numba core of the skeleton fit: forward kinematics and a Levenberg-Marquardt solve (arrays in, arrays out).

Parameters x: root translation (3, camera space, metres), root rotation vector (3), then for every joint its
degrees of freedom (see livecap.pose.fitting.model): 3 for a ball joint (a rotation vector), 1 for a hinge (an angle
about a fixed local axis), 0 for a locked joint. The Jacobian is analytic: a joint's rotation about a world axis w
moves every joint below it by w x (its offset from the joint), which costs about one forward kinematics pass where
forward differences cost one per parameter (~37).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
def _matmul3_into(a, b, out):
    # hand-written: numba sends `@` to BLAS, whose per-call overhead dwarfs a 3x3 product
    for r in range(3):
        for c in range(3):
            out[r, c] = a[r, 0] * b[0, c] + a[r, 1] * b[1, c] + a[r, 2] * b[2, c]


@njit(cache=True)
def fk_into(x, parents, offsets, dof_start, dof_count, hinge_axes, positions, rotations, scratch):
    """World (camera) positions and rotations of every joint into buffers; joints are ordered parents first."""
    for j in range(parents.shape[0]):
        _local_rotation_into(x, j, dof_start, dof_count, hinge_axes, scratch[0])
        p = parents[j]
        if p < 0:
            rotvec_into(x[3], x[4], x[5], scratch[1])
            _matmul3_into(scratch[1], scratch[0], rotations[j])
            for a in range(3):
                positions[j, a] = x[a]
        else:
            _matmul3_into(rotations[p], scratch[0], rotations[j])
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
        _quaternion_into(local, out[j])
    return out


@njit(cache=True)
def _quaternion_into(m, q):
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


@njit(cache=True)
def residuals(x, prev, parents, offsets, dof_start, dof_count, hinge_axes, lower, upper,
              target3d, weight3d, target2d, weight2d, camera, weights, out, positions, rotations, scratch):
    """Fills `out` with every weighted residual; returns how many were written.

    weights: [3D landmarks, reprojection, joint limits, temporal, rest prior]
    camera: [fx, fy, cx, cy]
    """
    fk_into(x, parents, offsets, dof_start, dof_count, hinge_axes, positions, rotations, scratch)
    k = 0
    n = parents.shape[0]
    for j in range(n):  # 1. root-relative metric shape against the 3D landmarks
        w = weights[0] * weight3d[j]
        for a in range(3):
            out[k] = w * ((positions[j, a] - positions[0, a]) - target3d[j, a])
            k += 1
    for j in range(n):  # 2. reprojection against the 2D landmarks, in units of the focal length
        w = weights[1] * weight2d[j]
        z = max(positions[j, 2], 0.05)
        out[k] = w * ((camera[0] * positions[j, 0] / z + camera[2]) - target2d[j, 0]) / camera[0]
        out[k + 1] = w * ((camera[1] * positions[j, 1] / z + camera[3]) - target2d[j, 1]) / camera[1]
        k += 2
    for i in range(6, x.shape[0]):  # 3. joint limits (soft), 4. temporal smoothness, 5. rest prior
        over = 0.0
        if x[i] > upper[i]:
            over = x[i] - upper[i]
        elif x[i] < lower[i]:
            over = x[i] - lower[i]
        out[k] = weights[2] * over
        out[k + 1] = weights[3] * (x[i] - prev[i])
        out[k + 2] = weights[4] * x[i]
        k += 3
    for i in range(6):
        out[k] = weights[3] * (x[i] - prev[i])
        k += 1
    return k


@njit(cache=True)
def _left_jacobian_into(vx, vy, vz, out):
    """d exp(v + e) = exp(J e) exp(v): the left Jacobian J of SO(3), which turns a change of a rotation vector
    into the (parent-frame) angular change it makes."""
    angle2 = vx * vx + vy * vy + vz * vz
    if angle2 < 1e-12:
        a, b = 0.5, 1.0 / 6.0
    else:
        angle = np.sqrt(angle2)
        a, b = (1.0 - np.cos(angle)) / angle2, (angle - np.sin(angle)) / (angle2 * angle)
    k = ((0.0, -vz, vy), (vz, 0.0, -vx), (-vy, vx, 0.0))
    for r in range(3):
        for c in range(3):
            kk = k[r][0] * k[0][c] + k[r][1] * k[1][c] + k[r][2] * k[2][c]
            out[r, c] = (1.0 if r == c else 0.0) + a * k[r][c] + b * kk


@njit(cache=True)
def _strict_ancestors(parents):
    """moves[k, j]: joint k's rotation carries joint j (k is above j)."""
    n = parents.shape[0]
    moves = np.zeros((n, n), np.bool_)
    for j in range(n):
        p = parents[j]
        while p >= 0:
            moves[p, j] = True
            p = parents[p]
    return moves


@njit(cache=True)
def _axes_into(x, parents, dof_start, dof_count, hinge_axes, rotations, axes, pivots, scratch):
    """For every parameter from 3 on: the world axis its rotation turns about and the joint it turns at."""
    _left_jacobian_into(x[3], x[4], x[5], scratch)
    for c in range(3):
        for a in range(3):
            axes[3 + c, a] = scratch[a, c]
        pivots[3 + c] = 0
    for k in range(parents.shape[0]):
        p, start = parents[k], dof_start[k]
        if p < 0 or dof_count[k] == 0:
            continue
        if dof_count[k] == 1:
            for a in range(3):
                axes[start, a] = (rotations[p, a, 0] * hinge_axes[k, 0] + rotations[p, a, 1] * hinge_axes[k, 1]
                                  + rotations[p, a, 2] * hinge_axes[k, 2])
            pivots[start] = k
            continue
        _left_jacobian_into(x[start], x[start + 1], x[start + 2], scratch)
        for c in range(3):
            for a in range(3):
                axes[start + c, a] = (rotations[p, a, 0] * scratch[0, c] + rotations[p, a, 1] * scratch[1, c]
                                      + rotations[p, a, 2] * scratch[2, c])
            pivots[start + c] = k


@njit(cache=True)
def _landmark_jacobian(x, parents, dof_start, dof_count, hinge_axes, weight3d, weight2d, camera, weights,
                       positions, rotations, moves, axes, pivots, rows, jac, scratch):
    """The analytic Jacobian of the landmark residuals (3D shape, then reprojection, as in `residuals`) at the
    pose whose forward kinematics are in positions/rotations: a rotation about world axis w at joint k moves each
    joint j below k by w x (p_j - p_k). Only the rows listed in `rows` (the weighted ones) are written, packed."""
    n, count = parents.shape[0], x.shape[0]
    _axes_into(x, parents, dof_start, dof_count, hinge_axes, rotations, axes, pivots, scratch)
    jac[:, :] = 0.0
    for r in range(rows.shape[0]):
        row = rows[r]
        if row < 3 * n:
            j, a = row // 3, row % 3
            w = weights[0] * weight3d[j]
            for c in range(3, count):  # translations move every joint alike: no change in root-relative shape
                k = pivots[c]
                if moves[k, j]:
                    b, d = (a + 1) % 3, (a + 2) % 3  # (w x v)_a = w_b v_d - w_d v_b
                    jac[r, c] = w * (axes[c, b] * (positions[j, d] - positions[k, d])
                                     - axes[c, d] * (positions[j, b] - positions[k, b]))
        else:
            j, a = (row - 3 * n) // 2, (row - 3 * n) % 2
            w = weights[1] * weight2d[j]
            z = positions[j, 2]
            if z < 0.05:  # the residual clamps the depth there: only the sideways motion counts
                jac[r, a] = w / 0.05
                for c in range(3, count):
                    k = pivots[c]
                    if moves[k, j]:
                        b, d = (a + 1) % 3, (a + 2) % 3
                        jac[r, c] = w / 0.05 * (axes[c, b] * (positions[j, d] - positions[k, d])
                                                - axes[c, d] * (positions[j, b] - positions[k, b]))
                continue
            lateral = positions[j, a]
            jac[r, a] = w / z  # d(p_a / z): the translation's own axis ...
            jac[r, 2] = -w * lateral / (z * z)  # ... and its depth
            for c in range(3, count):
                k = pivots[c]
                if moves[k, j]:
                    vx, vy, vz = (positions[j, 0] - positions[k, 0], positions[j, 1] - positions[k, 1],
                                  positions[j, 2] - positions[k, 2])
                    dz = axes[c, 0] * vy - axes[c, 1] * vx
                    if a == 0:
                        dl = axes[c, 1] * vz - axes[c, 2] * vy
                    else:
                        dl = axes[c, 2] * vx - axes[c, 0] * vz
                    jac[r, c] = w * (dl / z - lateral * dz / (z * z))


@njit(cache=True)
def _prior_curvature(x, lower, upper, weights, diagonal):
    """The limit, temporal and rest residuals each depend on one parameter: their J^T J is diagonal."""
    for i in range(x.shape[0]):
        diagonal[i] = weights[3] * weights[3]
        if i >= 6:
            diagonal[i] += weights[4] * weights[4]
            if x[i] > upper[i] or x[i] < lower[i]:
                diagonal[i] += weights[2] * weights[2]


@njit(cache=True)
def _solve_positive_definite(a, b):
    """Solves a x = b in place (x into b, a overwritten by its Cholesky factor): a is the damped normal matrix,
    symmetric positive definite. Hand-written: LAPACK's per-call overhead is most of the cost at this size."""
    n = b.shape[0]
    for j in range(n):
        d = a[j, j]
        for k in range(j):
            d -= a[j, k] * a[j, k]
        d = np.sqrt(max(d, 1e-18))
        a[j, j] = d
        for i in range(j + 1, n):
            v = a[i, j]
            for k in range(j):
                v -= a[i, k] * a[j, k]
            a[i, j] = v / d
    for i in range(n):  # L y = b
        v = b[i]
        for k in range(i):
            v -= a[i, k] * b[k]
        b[i] = v / a[i, i]
    for i in range(n - 1, -1, -1):  # L^T x = y
        v = b[i]
        for k in range(i + 1, n):
            v -= a[k, i] * b[k]
        b[i] = v / a[i, i]


TOLERANCE = 1e-4  # relative cost gain of an undamped step below which a solve stops


@njit(cache=True)
def solve(x0, prev, parents, offsets, dof_start, dof_count, hinge_axes, lower, upper,
          target3d, weight3d, target2d, weight2d, camera, weights, iterations):
    """Levenberg-Marquardt from x0; returns the best parameters found and their cost. Stops early once a step
    gains less than TOLERANCE of the cost: more iterations would not move a joint by a tenth of a millimetre."""
    n, count = parents.shape[0], x0.shape[0]
    m = 5 * n + 3 * (count - 6) + 6
    rows = np.empty(5 * n, np.int64)  # the landmark residuals that carry weight; the others stay zero
    used = 0
    for j in range(n):
        if weights[0] * weight3d[j] != 0.0:
            for a in range(3):
                rows[used] = 3 * j + a
                used += 1
    for j in range(n):
        if weights[1] * weight2d[j] != 0.0:
            for a in range(2):
                rows[used] = 3 * n + 2 * j + a
                used += 1
    rows = rows[:used]
    r = np.zeros(m)
    r_try = np.zeros(m)
    packed = np.zeros(used)
    jac = np.zeros((used, count))
    positions = np.zeros((n, 3))
    rotations = np.zeros((n, 3, 3))
    scratch = np.zeros((2, 3, 3))
    moves = _strict_ancestors(parents)
    axes = np.zeros((count, 3))
    pivots = np.zeros(count, np.int64)
    diagonal = np.zeros(count)
    gradient = np.zeros(count)
    damped = np.zeros((count, count))
    delta = np.zeros(count)
    x = x0.copy()
    residuals(x, prev, parents, offsets, dof_start, dof_count, hinge_axes, lower, upper,
              target3d, weight3d, target2d, weight2d, camera, weights, r, positions, rotations, scratch)
    cost = np.dot(r, r)
    damping = 1e-3
    for _ in range(iterations):
        fk_into(x, parents, offsets, dof_start, dof_count, hinge_axes, positions, rotations, scratch)
        _landmark_jacobian(x, parents, dof_start, dof_count, hinge_axes, weight3d, weight2d, camera, weights,
                           positions, rotations, moves, axes, pivots, rows, jac, scratch[0])
        for i in range(used):
            packed[i] = r[rows[i]]
        normal = jac.T @ jac
        gradient[:] = jac.T @ packed
        _prior_curvature(x, lower, upper, weights, diagonal)
        k = 5 * n
        for i in range(6, count):  # the prior residuals' own gradient: each is weight * (something in x[i])
            gradient[i] += weights[2] * r[k] + weights[3] * r[k + 1] + weights[4] * r[k + 2]
            k += 3
        for i in range(6):
            gradient[i] += weights[3] * r[k + i]
        for i in range(count):
            normal[i, i] += diagonal[i]
        improved = False
        for _attempt in range(10):  # up to 4^10 more damping: far from the minimum, steps must shrink a lot
            for i in range(count):
                for c in range(count):
                    damped[i, c] = normal[i, c]
                damped[i, i] += damping * (normal[i, i] + 1e-9)
                delta[i] = -gradient[i]
            _solve_positive_definite(damped, delta)
            # the decrease the linear model promises: |r|^2 - |r + J delta|^2
            predicted = -2.0 * np.dot(delta, gradient) - np.dot(delta, normal @ delta)
            if damping < 1e-2 and predicted < 0.1 * TOLERANCE * cost:
                break  # converged: even a nearly undamped step has nothing left to gain
            x_new = x + delta
            residuals(x_new, prev, parents, offsets, dof_start, dof_count, hinge_axes, lower, upper,
                      target3d, weight3d, target2d, weight2d, camera, weights, r_try, positions, rotations, scratch)
            new_cost = np.dot(r_try, r_try)
            if new_cost < cost:
                # converged: a nearly undamped (Gauss-Newton) step gained almost nothing; a small gain from a
                # heavily damped step only means the step was short
                converged = cost - new_cost < TOLERANCE * new_cost and damping < 1e-2
                x, cost = x_new, new_cost
                r[:] = r_try
                damping = max(damping / 3.0, 1e-7)
                improved = not converged
                break
            damping *= 4.0
        if not improved:
            break
    return x, cost


@njit(cache=True)
def cost(x, prev, parents, offsets, dof_start, dof_count, hinge_axes, lower, upper,
         target3d, weight3d, target2d, weight2d, camera, weights):
    """The sum of squared residuals `solve` minimises, at x."""
    m = 5 * parents.shape[0] + 3 * (x.shape[0] - 6) + 6
    r = np.zeros(m)
    count = residuals(x, prev, parents, offsets, dof_start, dof_count, hinge_axes, lower, upper, target3d,
                      weight3d, target2d, weight2d, camera, weights, r, np.zeros((parents.shape[0], 3)),
                      np.zeros((parents.shape[0], 3, 3)), np.zeros((2, 3, 3)))
    return np.dot(r[:count], r[:count])
