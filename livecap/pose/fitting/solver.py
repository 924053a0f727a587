"""Numba core of the skeleton fit: a Levenberg-Marquardt solve of the body model's parameters (arrays in, arrays
out). Parameter layout and forward kinematics: livecap.pose.fitting.kinematics.

The problem is a tuple of arrays (see `residuals`); what it weighs, per kind of residual:
- weights: [3D landmarks, reprojection, joint limits, anchors]. The 3D landmarks are compared as a shape: about
  their weighted centroid and up to a scale (see _shape_alignment).
- priors: one row per parameter, (temporal weight, pose-prior weight, pose-prior target): the temporal term pulls
  a parameter towards last frame's value, the pose prior towards its target (the analytic seed).
- anchors: one row per joint, (x, y, z, weight): a camera-space point the joint is held at (a planted foot).

The Jacobian is analytic: a joint's rotation about a world axis w moves every joint below it by w x (its offset
from the joint), which costs about one forward kinematics pass where forward differences cost one per parameter.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from livecap.pose.fitting.kinematics import FAST, fk_into


@njit(cache=True, fastmath=FAST)
def residual_count(joints, params):
    return 8 * joints + 3 * (params - 6) + 6


@njit(cache=True, fastmath=FAST)
def residuals(x, prev, parents, offsets, dof_start, dof_count, hinge_axes, lower, upper, target3d, weight3d,
              target2d, weight2d, camera, weights, priors, anchors, out, positions, rotations, scratch):
    """Fills `out` with every weighted residual (residual_count of them). camera: [fx, fy, cx, cy]."""
    fk_into(x, parents, offsets, dof_start, dof_count, hinge_axes, positions, rotations, scratch)
    k = 0
    n = parents.shape[0]
    fitted_centre, target_centre, scale = _shape_alignment(positions, target3d, weight3d, weights[0], SCALE_RANGE)
    for j in range(n):  # 1. the shape of the 3D landmarks, about their centroid and up to scale
        w = weights[0] * weight3d[j]
        for a in range(3):
            out[k] = w * (scale * (positions[j, a] - fitted_centre[a]) - (target3d[j, a] - target_centre[a]))
            k += 1
    for j in range(n):  # 2. reprojection against the 2D landmarks, in units of the focal length
        w = weights[1] * weight2d[j]
        z = max(positions[j, 2], 0.05)
        out[k] = w * ((camera[0] * positions[j, 0] / z + camera[2]) - target2d[j, 0]) / camera[0]
        out[k + 1] = w * ((camera[1] * positions[j, 1] / z + camera[3]) - target2d[j, 1]) / camera[1]
        k += 2
    for j in range(n):  # 3. anchors: joints held where they were planted
        w = weights[3] * anchors[j, 3]
        for a in range(3):
            out[k] = w * (positions[j, a] - anchors[j, a])
            k += 1
    for i in range(6, x.shape[0]):  # 4. joint limits (soft), 5. temporal smoothness, 6. pose prior
        over = 0.0
        if x[i] > upper[i]:
            over = x[i] - upper[i]
        elif x[i] < lower[i]:
            over = x[i] - lower[i]
        out[k] = weights[2] * over
        out[k + 1] = priors[i, 0] * (x[i] - prev[i])
        out[k + 2] = priors[i, 1] * (x[i] - priors[i, 2])
        k += 3
    for i in range(6):
        out[k] = priors[i, 0] * (x[i] - prev[i])
        k += 1
    return k


SCALE_RANGE = 0.25  # how far (a fraction) the 3D landmarks' size may differ from the frozen skeleton's in a frame


@njit(cache=True, fastmath=FAST)
def _shape_alignment(positions, target3d, weight3d, weight, scale_range):
    """The fitted joints' and the 3D targets' weighted centroids, and the scale that best takes the fitted shape
    onto the targets' (within 1 +- scale_range). BlazePose's metric landmarks are hip-centred and sized by a guess
    made afresh every frame, while the skeleton's bones are frozen: the shape is compared, not the origin or size.
    The scale is optimal for the shape, so holding it fixed leaves the cost's gradient exact (variable projection)."""
    n = positions.shape[0]
    fitted, target = np.zeros(3), np.zeros(3)
    total = 0.0
    for j in range(n):
        w2 = (weight * weight3d[j]) ** 2
        total += w2
        for a in range(3):
            fitted[a] += w2 * positions[j, a]
            target[a] += w2 * target3d[j, a]
    if total <= 0.0:
        return fitted, target, 1.0
    fitted /= total
    target /= total
    cross, own = 0.0, 0.0
    for j in range(n):
        w2 = (weight * weight3d[j]) ** 2
        for a in range(3):
            p = positions[j, a] - fitted[a]
            cross += w2 * p * (target3d[j, a] - target[a])
            own += w2 * p * p
    scale = cross / own if own > 1e-12 else 1.0
    return fitted, target, min(max(scale, 1.0 - scale_range), 1.0 + scale_range)


@njit(cache=True, fastmath=FAST)
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


@njit(cache=True, fastmath=FAST)
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


@njit(cache=True, fastmath=FAST)
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


@njit(cache=True, fastmath=FAST)
def _moved_by(axes, positions, c, k, j, a):
    """Component a of w_c x (p_j - p_k): how joint j moves as parameter c turns joint k."""
    b, d = (a + 1) % 3, (a + 2) % 3  # (w x v)_a = w_b v_d - w_d v_b
    return axes[c, b] * (positions[j, d] - positions[k, d]) - axes[c, d] * (positions[j, b] - positions[k, b])


@njit(cache=True, fastmath=FAST)
def _jacobian(x, parents, dof_start, dof_count, hinge_axes, target3d, weight3d, weight2d, camera, weights, anchors,
              positions, rotations, moves, axes, pivots, rows, jac, scratch):
    """The analytic Jacobian of the point residuals (3D shape, reprojection, anchors, as in `residuals`) at the
    pose whose forward kinematics are in positions/rotations. Only the rows listed in `rows` (the weighted ones)
    are written, packed."""
    n, count = parents.shape[0], x.shape[0]
    _axes_into(x, parents, dof_start, dof_count, hinge_axes, rotations, axes, pivots, scratch)
    jac[:, :] = 0.0
    mean = np.zeros((3, count))  # the weighted mean motion of the 3D points, which their centring takes away
    total = 0.0
    for r in range(rows.shape[0]):
        row = rows[r]
        if row < 3 * n:
            j, a = row // 3, row % 3
            w = weights[0] * weight3d[j]
            if a == 0:
                total += w * w
            for c in range(3, count):  # translations move every joint alike: no change in the centred shape
                if moves[pivots[c], j]:
                    jac[r, c] = w * _moved_by(axes, positions, c, pivots[c], j, a)
                    mean[a, c] += w * jac[r, c]
        elif row >= 5 * n:
            j, a = (row - 5 * n) // 3, (row - 5 * n) % 3
            w = weights[3] * anchors[j, 3]
            jac[r, a] = w
            for c in range(3, count):
                if moves[pivots[c], j]:
                    jac[r, c] = w * _moved_by(axes, positions, c, pivots[c], j, a)
        else:
            j, a = (row - 3 * n) // 2, (row - 3 * n) % 2
            w = weights[1] * weight2d[j]
            z = positions[j, 2]
            clamped = z < 0.05  # the residual clamps the depth there: only the sideways motion counts
            z = max(z, 0.05)
            lateral = positions[j, a]
            jac[r, a] = w / z  # d(p_a / z): the translation's own axis ...
            if not clamped:
                jac[r, 2] = -w * lateral / (z * z)  # ... and its depth
            for c in range(3, count):
                k = pivots[c]
                if moves[k, j]:
                    dl = _moved_by(axes, positions, c, k, j, a)
                    dz = 0.0 if clamped else _moved_by(axes, positions, c, k, j, 2)
                    jac[r, c] = w * (dl / z - lateral * dz / (z * z))
    if total > 0.0:
        scale = _shape_alignment(positions, target3d, weight3d, weights[0], SCALE_RANGE)[2]
        for r in range(rows.shape[0]):
            row = rows[r]
            if row >= 3 * n:
                break  # the 3D rows come first
            w = weights[0] * weight3d[row // 3]
            for c in range(3, count):
                jac[r, c] = scale * (jac[r, c] - w * mean[row % 3, c] / total)


@njit(cache=True, fastmath=FAST)
def _prior_curvature(x, lower, upper, weights, priors, diagonal):
    """The limit, temporal and pose-prior residuals each depend on one parameter: their J^T J is diagonal."""
    for i in range(x.shape[0]):
        diagonal[i] = priors[i, 0] * priors[i, 0]
        if i >= 6:
            diagonal[i] += priors[i, 1] * priors[i, 1]
            if x[i] > upper[i] or x[i] < lower[i]:
                diagonal[i] += weights[2] * weights[2]


@njit(cache=True, fastmath=FAST)
def _weighted_rows(n, weights, weight3d, weight2d, anchors):
    """The point residuals that carry weight; the others stay zero and are left out of the Jacobian."""
    rows = np.empty(8 * n, np.int64)
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
    for j in range(n):
        if weights[3] * anchors[j, 3] != 0.0:
            for a in range(3):
                rows[used] = 5 * n + 3 * j + a
                used += 1
    return rows[:used]


@njit(cache=True, fastmath=FAST)
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


@njit(cache=True, fastmath=FAST)
def solve(x0, prev, parents, offsets, dof_start, dof_count, hinge_axes, lower, upper, target3d, weight3d,
          target2d, weight2d, camera, weights, priors, anchors, iterations):
    """Levenberg-Marquardt from x0; returns the best parameters found and their cost. Stops early once a nearly
    undamped step gains less than TOLERANCE of the cost."""
    n, count = parents.shape[0], x0.shape[0]
    m = residual_count(n, count)
    rows = _weighted_rows(n, weights, weight3d, weight2d, anchors)
    used = rows.shape[0]
    r, r_try, packed = np.zeros(m), np.zeros(m), np.zeros(used)
    jac = np.zeros((used, count))
    positions, rotations, scratch = np.zeros((n, 3)), np.zeros((n, 3, 3)), np.zeros((2, 3, 3))
    moves = _strict_ancestors(parents)
    axes, pivots = np.zeros((count, 3)), np.zeros(count, np.int64)
    diagonal, gradient, delta = np.zeros(count), np.zeros(count), np.zeros(count)
    damped = np.zeros((count, count))
    x = x0.copy()
    residuals(x, prev, parents, offsets, dof_start, dof_count, hinge_axes, lower, upper, target3d, weight3d,
              target2d, weight2d, camera, weights, priors, anchors, r, positions, rotations, scratch)
    cost = np.dot(r, r)
    damping = 1e-3
    for _ in range(iterations):
        fk_into(x, parents, offsets, dof_start, dof_count, hinge_axes, positions, rotations, scratch)
        _jacobian(x, parents, dof_start, dof_count, hinge_axes, target3d, weight3d, weight2d, camera, weights, anchors,
                  positions, rotations, moves, axes, pivots, rows, jac, scratch[0])
        for i in range(used):
            packed[i] = r[rows[i]]
        normal = jac.T @ jac
        gradient[:] = jac.T @ packed
        _prior_curvature(x, lower, upper, weights, priors, diagonal)
        k = 8 * n
        for i in range(6, count):  # the prior residuals' own gradient: each is weight * (something in x[i])
            gradient[i] += weights[2] * r[k] + priors[i, 0] * r[k + 1] + priors[i, 1] * r[k + 2]
            k += 3
        for i in range(6):
            gradient[i] += priors[i, 0] * r[k + i]
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
            residuals(x_new, prev, parents, offsets, dof_start, dof_count, hinge_axes, lower, upper, target3d,
                      weight3d, target2d, weight2d, camera, weights, priors, anchors, r_try, positions, rotations,
                      scratch)
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


@njit(cache=True, fastmath=FAST)
def cost(x, prev, parents, offsets, dof_start, dof_count, hinge_axes, lower, upper, target3d, weight3d,
         target2d, weight2d, camera, weights, priors, anchors):
    """The sum of squared residuals `solve` minimises, at x."""
    n = parents.shape[0]
    r = np.zeros(residual_count(n, x.shape[0]))
    residuals(x, prev, parents, offsets, dof_start, dof_count, hinge_axes, lower, upper, target3d, weight3d,
              target2d, weight2d, camera, weights, priors, anchors, r, np.zeros((n, 3)), np.zeros((n, 3, 3)),
              np.zeros((2, 3, 3)))
    return np.dot(r, r)
