"""Regression: every shipped checkpoint reproduces its expected output slice (diffusers' test idea).

``model.sample(2, seed=0)``'s central 3x3 pixels of the first channel (for image-to-image networks: of
``model.upscale`` of 2 fixed seeded 12x12 RGB images, ``conftest.network_output``) are compared with the values
recorded in expected_slices.json when the checkpoint was shipped. A changed network, sampler or
weight file moves them; floating-point noise between machines does not (tolerance 1e-3).
The metric bands (FID, SWD, NLL, ... replayed with their recorded protocol) are the slow tests in
test_metrics_regression.py.

After shipping or retraining a checkpoint, record its slice with:  python tests/test_shipped_slices.py --record
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

import genzoo
from genzoo.hub import WEIGHTS_NAME, model_cards_dir

sys.path.insert(0, str(Path(__file__).parent))  # conftest's helpers also when run as a script (--record)
from conftest import network_output  # noqa: E402

EXPECTED_PATH = Path(__file__).with_name("expected_slices.json")
SHIPPED = [name for name in genzoo.list_models() if (model_cards_dir() / name / WEIGHTS_NAME).is_file()]


def output_slice(name: str) -> torch.Tensor:
    images = network_output(genzoo.load(name), seed=0)
    centre = images.shape[-1] // 2
    return images[:, 0, centre - 1 : centre + 2, centre - 1 : centre + 2].flatten()


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_output_slice(name):
    expected = json.loads(EXPECTED_PATH.read_text()) if EXPECTED_PATH.is_file() else {}
    assert name in expected, f"no expected slice for {name}: run python tests/test_shipped_slices.py --record"
    torch.testing.assert_close(output_slice(name), torch.tensor(expected[name]), atol=1e-3, rtol=0)


if __name__ == "__main__" and "--record" in sys.argv:
    torch.set_num_threads(1)
    EXPECTED_PATH.write_text(json.dumps({name: output_slice(name).tolist() for name in SHIPPED}, indent=1) + "\n")
    print(f"recorded {len(SHIPPED)} slices in {EXPECTED_PATH}")
