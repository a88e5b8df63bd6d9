"""The GPU path's mixed precision, exercised on the CPU (autocast and the GradScaler run there too)."""
import math

import pytest
import torch

import ganlib as gl
from ganlib import train as T


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_and_stays_close_to_fp32(tiny_cfg, tiny_data, precision):
    cfg = tiny_cfg.replace(max_steps=4)
    ref = gl.fit(*gl.models.build(cfg), tiny_data, cfg, progress=False)
    run = gl.fit(*gl.models.build(cfg), tiny_data, cfg, progress=False, precision=precision)
    assert run.precision == precision and (run.scaler is not None) == (precision == "fp16")
    assert len(run.history) == 4 and all(math.isfinite(v) for v in run.history.loss_d + run.history.loss_g)
    # the first step starts from the same weights: its statistics agree to half-precision accuracy, not exactly
    assert run.history.loss_d[0] == pytest.approx(ref.history.loss_d[0], rel=5e-2)
    assert run.history.loss_d[0] != ref.history.loss_d[0] or run.history.loss_g[0] != ref.history.loss_g[0]


def test_precision_is_fp32_on_the_cpu_and_validated():
    assert T.choose_precision(torch.device("cpu")) == "fp32"
    assert T.choose_precision(torch.device("cpu"), "bf16") == "bf16"
    with pytest.raises(ValueError, match="precision='fp8'"):
        T.choose_precision(torch.device("cpu"), "fp8")


def test_the_gradient_penalty_runs_in_float32_under_autocast(tiny_cfg, tiny_data):
    cfg = gl.preset("variants-mnist", size="quick", loss="wgan-gp", k=1, max_steps=2, n_train=64)
    data = gl.data.ImageData(tiny_data.images[:64, :, 2:30, 2:30].contiguous(), None, "random 28 px")
    run = gl.fit(*gl.models.build(cfg), data, cfg, progress=False, precision="bf16")
    assert len(run.history) == 2 and all(math.isfinite(v) for v in run.history.loss_d)
