"""Peak load per cell for a heavy single-leg landing, to choose the load-cell rating.

A stiff plate on four equal cells shares a point load F at (x, y) as
F_i = F/4 * (1 + x*x_i/a^2 + y*y_i/b^2), with the cells at (+-a, +-b) (the rigid-plate
solution). A negative share means that corner lifts off its foot (the cells stand loose on
the floor), and the other three carry the load alone. Run from the repository root:

    PYTHONPATH=app python hardware/load_share.py [body_mass_kg] [landing_factor]
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "app"))

from stancelab.geometry import CHANNEL_SHORT, BoardGeometry, FootModel


def shares(x_mm: float, y_mm: float, g: BoardGeometry) -> list[float]:
    a = max(abs(v) for v in g.cell_x_mm)
    b = max(abs(v) for v in g.cell_y_mm)
    s = [0.25 * (1 + x_mm * xi / a**2 + y_mm * yi / b**2) for xi, yi in g.cells_mm]
    if min(s) >= 0:
        return s
    lifted = s.index(min(s))
    keep = [i for i in range(4) if i != lifted]
    m = np.array([[1.0] * 3, [g.cells_mm[i][0] for i in keep], [g.cells_mm[i][1] for i in keep]])
    three = np.linalg.solve(m, np.array([1.0, x_mm, y_mm]))
    out = [0.0] * 4
    for i, v in zip(keep, three):
        out[i] = float(v)
    return out


def main(argv: list[str]) -> None:
    mass_kg = float(argv[0]) if argv else 120.0
    factor = float(argv[1]) if len(argv) > 1 else 3.0
    g = BoardGeometry()
    foot = FootModel(292.0, "right")  # EU 46
    toe = foot.edge_distance(1.5708)
    side = foot.edge_distance(0.0)
    load_kg = mass_kg * factor
    print(f"landing load {load_kg:.0f} kgf ({mass_kg:.0f} kg x {factor:g}); cells at "
          f"{g.cells_mm[1]} mm")
    print(f"{'load at (x, y) mm':44s}" + "".join(f"{c:>8s}" for c in CHANNEL_SHORT) + "   max")
    spots = [("single-leg mark, centre", 0.0, 0.0),
             ("single-leg mark, on the toes", 0.0, toe),
             ("single-leg mark, forefoot outside", side, toe),
             ("two-leg right mark", 90.0, 0.0),
             ("directly over the FR cell", 250.0, 175.0)]
    for name, x, y in spots:
        kg = [load_kg * s + 0.0 for s in shares(x, y, g)]
        print(f"{name + f' ({x:.0f}, {y:.0f})':44s}" + "".join(f"{v:8.0f}" for v in kg)
              + f"{max(kg):6.0f}")
    print("Outside the rectangle of the cells the board tips over the nearest cell.")
    # Plywood sag under the same landing at the centre: a beam of the board's full depth on
    # two supports at the cells' x span. A rough guide only (a corner-supported plate sags
    # more); birch plywood bending modulus taken as 9 GPa.
    span = float(g.cell_x_mm.max() - g.cell_x_mm.min())
    force_n = load_kg * 9.80665
    print(f"centre sag of birch plywood ({g.depth_mm:.0f} mm wide, {span:.0f} mm span, "
          f"E 9 GPa) under {load_kg:.0f} kgf / under {mass_kg:.0f} kg standing:")
    for t_mm in (15, 18, 21, 24):
        i_mm4 = g.depth_mm * t_mm**3 / 12.0
        sag = force_n * span**3 / (48 * 9000.0 * i_mm4)
        print(f"  {t_mm} mm: {sag:4.1f} mm / {sag / factor:4.1f} mm")


if __name__ == "__main__":
    main(sys.argv[1:])
