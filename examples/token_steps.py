#!/usr/bin/env python3
"""Load a trained text run and show how many solver steps each generated token took.

    PYTHONPATH=build/python /usr/bin/python3 examples/token_steps.py RUN_DIR ["prompt"] [OUT.svg]

Prints each token with its steps and residual, and writes a bar chart (an SVG, no plotting
library needed) of steps per token, the tokens written under their bars.
"""
import html
import sys

import eqt

run = sys.argv[1] if len(sys.argv) > 1 else "runs/text"
prompt = sys.argv[2] if len(sys.argv) > 2 else "In the beginning"
out_svg = sys.argv[3] if len(sys.argv) > 3 else "token_steps.svg"

model = eqt.load(run)
print(model)
g = model.generate(prompt, max_new_tokens=48, temperature=0)
for piece, steps, res in zip(g.pieces, g.steps.tolist(), g.residual.tolist()):
    print(f"{piece!r:>8} {steps:5.1f} steps  residual {res:.2e}")
print(f"mean {g.steps.mean():.2f} steps per token; {g.decode_tokens_per_s:.1f} tokens/s")

# The chart: one bar per token, its height the steps.
n, top = len(g.pieces), max(1.0, float(g.steps.max()))
w, h, pad = max(400, 16 * n + 80), 260, 50
bars = []
for i, (piece, steps) in enumerate(zip(g.pieces, g.steps.tolist())):
    x = pad + i * 16
    bh = (h - 2 * pad) * steps / top
    label = html.escape(piece.replace("\n", "\\n"))
    bars.append(f'<rect x="{x}" y="{h - pad - bh:.1f}" width="12" height="{bh:.1f}" fill="#2f6fc2">'
                f'<title>{label}: {steps:g} steps</title></rect>'
                f'<text x="{x + 6}" y="{h - pad + 14}" font-size="11" text-anchor="middle" '
                f'font-family="monospace">{label}</text>')
svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}">'
       f'<rect width="100%" height="100%" fill="white"/>'
       f'<text x="{pad}" y="24" font-size="14" font-family="sans-serif">solver steps per generated token '
       f'({html.escape(model.info.family)}, prompt {html.escape(prompt)!r})</text>'
       f'<line x1="{pad - 4}" y1="{h - pad}" x2="{w - 10}" y2="{h - pad}" stroke="#444"/>'
       f'<text x="{pad - 8}" y="{pad + 4}" font-size="11" text-anchor="end" font-family="sans-serif">{top:g}</text>'
       + "".join(bars) + "</svg>")
with open(out_svg, "w") as f:
    f.write(svg)
print("wrote", out_svg)
