"""OpenAPI links: how one answer's ids feed the next request (clients and Schemathesis' stateful
phase follow them: a dataset -> train it -> the job -> its model -> generate)."""

from __future__ import annotations

from typing import Any

TINY_TRAIN = {"epochs": 1, "dim_h": 4, "n_z": 4}


def _dataset(ref: str) -> dict[str, Any]:
    return {
        "GetDataset": {"operationId": "get_dataset", "parameters": {"dataset_id": ref}},
        "PreviewDataset": {"operationId": "dataset_preview", "parameters": {"dataset_id": ref}},
        "TrainOnDataset": {"operationId": "submit_job", "requestBody": {
            "kind": "train", "dataset_id": ref, "params": TINY_TRAIN}},
    }


def _job(ref: str) -> dict[str, Any]:
    return {
        "GetJob": {"operationId": "get_job", "parameters": {"job_id": ref}},
        "CancelJob": {"operationId": "cancel_job", "parameters": {"job_id": ref}},
        "JobArtifacts": {"operationId": "list_artifacts", "parameters": {"job_id": ref}},
    }


def _model(ref: str) -> dict[str, Any]:
    return {
        "GetModel": {"operationId": "get_model", "parameters": {"model_id": ref}},
        "SampleModel": {"operationId": "sample_now", "parameters": {"model_id": ref},
                        "requestBody": {"sampling_strategy": "auto"}},
        "GenerateFromModel": {"operationId": "submit_job", "requestBody": {
            "kind": "generate", "model_id": ref}},
    }


DATASET = _dataset("$response.body#/id")
FIRST_DATASET = _dataset("$response.body#/0/id")
JOB = {
    **_job("$response.body#/id"),
    "GetJobModel": {"operationId": "get_model",
                    "parameters": {"model_id": "$response.body#/model_id"}},
    "GenerateFromJobModel": {"operationId": "submit_job", "requestBody": {
        "kind": "generate", "model_id": "$response.body#/model_id"}},
}
FIRST_JOB = _job("$response.body#/0/id")
MODEL = {k: v for k, v in _model("$response.body#/id").items() if k != "GetModel"}
UPLOADED_MODEL = _model("$response.body#/id")
FIRST_MODEL = _model("$response.body#/0/id")
