#!/usr/bin/env python3
"""A small DEQ layer trained inside a PyTorch model with eqt's solver and implicit gradient.

The model: x -> injection Linear -> z* = f(z*, x) (eqt.DEQ: Anderson forward, IFT backward)
-> Linear head. The task: y = sin(3 x_0) * cos(2 x_1) + x_2 on random inputs. Every 20
steps it prints the loss and the solver's work (forward steps per sample, backward VJPs).

    PYTHONPATH=build/python /usr/bin/python3 examples/deq_layer.py
"""
import torch

import eqt

torch.manual_seed(0)
D, X = 32, 3


class Cell(torch.nn.Module):
    """f(z, u) = tanh(LayerNorm(z W^T + u)): u is the injected input."""

    def __init__(self):
        super().__init__()
        self.W = torch.nn.Linear(D, D, bias=False)
        torch.nn.init.normal_(self.W.weight, std=0.3 / D ** 0.5)  # start contractive
        self.norm = torch.nn.LayerNorm(D)

    def forward(self, z, u):
        return torch.tanh(self.norm(self.W(z) + u))


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inject = torch.nn.Linear(X, D)
        self.deq = eqt.DEQ(Cell(), grad="ift", method="anderson", tol=1e-5, max_iter=40,
                           backward=dict(tol=1e-6, max_iter=40))
        self.head = torch.nn.Linear(D, 1)

    def forward(self, x):
        u = self.inject(x)                                    # (B, D)
        z = self.deq(torch.zeros_like(u), u)                  # (B, D) the equilibrium
        return self.head(z).squeeze(-1)                       # (B,)


def data(n):
    x = torch.rand(n, X) * 2 - 1
    return x, torch.sin(3 * x[:, 0]) * torch.cos(2 * x[:, 1]) + x[:, 2]


model = Model()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
x_test, y_test = data(512)
for step in range(1, 301):
    x, y = data(128)
    loss = torch.nn.functional.mse_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 20 == 0 or step == 1:
        st = model.deq.stats
        with torch.no_grad():
            test = torch.nn.functional.mse_loss(model(x_test), y_test).item()
        print(f"step {step:3d} | loss {loss.item():.4f} | test {test:.4f} | forward steps {st.steps.float().mean():.1f} "
              f"(max rel residual {st.rel_res.max():.1e}) | backward VJPs {st.backward.fevals}")
