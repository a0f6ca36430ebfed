"""The service on a CUDA device: run where a GPU is present (bench/gpu_check.sh).

The rest of the suite pins the service to the CPU. Here it runs with
``DEEPCLSMOTE_DEVICE=auto``, as deployed on a GPU host: readiness must report
the GPU, training must happen on it, and the model it saved must serve samples
from the helper process and from a generate job.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import torch

from .server import LiveServer, wait_for

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(),
                                 reason="no CUDA device on this machine")]


def test_the_service_trains_and_samples_on_the_gpu(tmp_path):
    srv = LiveServer(tmp_path / "svc", device="auto").start()
    try:
        with srv.client() as c:
            deadline = time.monotonic() + 60
            while (ready := c.get("/v1/ready").json())["device"] is None:
                assert time.monotonic() < deadline, ready  # the device probe never answered
                time.sleep(0.2)
            assert ready["cuda_available"] is True and ready["device"].startswith("cuda"), ready
            ds = next(d for d in c.get("/v1/datasets").json() if d["name"] == "digits")
            r = c.post("/v1/jobs", json={"kind": "train", "dataset_id": ds["id"], "params": {
                "epochs": 3, "dim_h": 8, "n_z": 16, "batch_size": 64}})
            assert r.status_code == 202, r.text
            job = wait_for(c, r.json()["id"])
            assert job["status"] == "succeeded", job
            assert job["result"]["device"].startswith("cuda"), job["result"]
            assert job["progress"]["epoch"] == 3
            model_id = job["result"]["model_id"]

            gen = c.post("/v1/jobs", json={"kind": "generate", "model_id": model_id,
                                           "params": {"sampling_strategy": {"3": 20}}})
            assert gen.status_code == 202, gen.text
            gen_job = wait_for(c, gen.json()["id"])
            assert gen_job["status"] == "succeeded", gen_job
            assert gen_job["result"]["counts"] == {"3": 20}

            body = {"sampling_strategy": {"0": 4}, "random_state": 1}
            s = c.post(f"/v1/models/{model_id}/samples", json=body)
            assert s.status_code == 200, s.text
            with np.load(io.BytesIO(s.content)) as npz:
                assert npz["images"].shape == (4, 8, 8) and npz["images"].dtype == np.uint8
    finally:
        srv.stop()
