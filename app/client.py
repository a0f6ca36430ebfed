"""A Python client of the service's HTTP API (``/v1``): datasets, jobs, models.

It needs only httpx and numpy, so it runs where neither torch nor the
service is installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import secrets
import time
import zipfile
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8000"
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
_MODEL_FILES = ("config.json", "weights.pt")


class ApiError(Exception):
    """An error answer of the service (any non-2xx status), or a failed download check.

    Attributes
    ----------
    status : int
        The HTTP status.
    code : str
        The service's stable error code (``job_not_found``, ``invalid_request``...);
        ``http_<status>`` when the answer had no JSON error body.
    message : str
        The explanation, written for a person.
    """

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{message} ({code}, HTTP {status})")
        self.status, self.code, self.message = status, code, message

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        """Read ``{"error": {"code", "message"}}``; fall back to the status line."""
        try:
            detail = response.json()["error"]
            return cls(response.status_code, str(detail["code"]), str(detail["message"]))
        except (ValueError, KeyError, TypeError):
            text = response.text.strip()[:200] if response.text else ""
            return cls(response.status_code, f"http_{response.status_code}",
                       text or response.reason_phrase or "error")


class ChecksumMismatch(ApiError):
    """A downloaded artifact whose SHA-256 is not the one the service announced."""


class Client:
    """The service's API as Python calls; every non-2xx answer raises :class:`ApiError`.

    Parameters
    ----------
    base_url : str
        Where the service listens.
    api_key : str, optional
        Sent as ``X-API-Key``; a service without keys needs none.
    timeout : float
        Seconds for connecting and for each read (``wait`` has its own timeout).
    transport : httpx.BaseTransport, optional
        For tests (``httpx.MockTransport``) or custom networking.

    Raises ``httpx.TransportError`` (``httpx.ConnectError``...) when the
    service cannot be reached.

    Examples
    --------
    >>> with Client("http://127.0.0.1:8000") as api:  # doctest: +SKIP
    ...     digits = next(d for d in api.datasets() if d["name"] == "digits")
    ...     job = api.wait(api.train(digits["id"], epochs=2)["id"])
    ...     images, labels = api.samples(job["result"]["model_id"], {"3": 4})
    """

    #: Seconds between polls when ``wait`` cannot use the event stream.
    poll_seconds = 1.0

    def __init__(self, base_url: str = DEFAULT_URL, api_key: str | None = None,
                 timeout: float = 60.0, transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout,
                                  transport=transport)

    # --- plumbing -------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        if not response.is_success:
            raise ApiError.from_response(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    # --- health -----------------------------------------------------------------
    def health(self) -> dict:
        """``{"status": "ok"}`` when the process answers."""
        return self._json("GET", "/v1/health")

    def ready(self) -> dict:
        """The readiness report (``ready``, ``database``, ``device``, ``queue_depth``...).

        A service that is not ready answers 503 with the same report; it is
        returned, not raised, so that ``ready()["ready"]`` is the answer.
        """
        response = self._http.get("/v1/ready")
        if response.status_code == 503:
            try:
                return response.json()
            except ValueError:
                pass
        if not response.is_success:
            raise ApiError.from_response(response)
        return response.json()

    # --- datasets ---------------------------------------------------------------
    def upload_dataset(self, path: str | os.PathLike, name: str | None = None, *,
                       size: str | tuple[int, int] | None = None, mode: str | None = None,
                       fit: str | None = None, split: str | None = None,
                       header: bool | None = None) -> dict:
        """Upload a dataset file; its manifest.

        A ``.zip``, ``.tar``, ``.tar.gz`` or ``.tgz`` of class folders of images
        (or of MNIST's IDX files), an ``.npz`` or a label,pixel CSV. The options
        are the upload's form fields: ``size`` (``"64x64"`` or ``(64, 64)``,
        height by width), ``mode`` (``"L"``/``"RGB"``), ``fit`` (``"stretch"``,
        ``"crop"``, ``"pad"``), ``split`` (``"train"``, ``"test"``, ``"all"``),
        ``header`` (a CSV's). The manifest's ``conversions`` list what was
        changed on the way in; ``duplicate`` is true when the same content was
        already stored, which is then the dataset answered.
        """
        path = Path(path)
        if isinstance(size, tuple):
            size = f"{size[0]}x{size[1]}"
        options = {"name": name, "size": size, "mode": mode, "fit": fit, "split": split,
                   "header": None if header is None else str(header).lower()}
        data = {k: v for k, v in options.items() if v is not None}
        with open(path, "rb") as f:
            return self._json("POST", "/v1/datasets", files={"file": (path.name, f)},
                              data=data or None)

    def datasets(self) -> list[dict]:
        return self._json("GET", "/v1/datasets")

    def dataset(self, dataset_id: str) -> dict:
        return self._json("GET", f"/v1/datasets/{dataset_id}")

    def delete_dataset(self, dataset_id: str) -> None:
        self._request("DELETE", f"/v1/datasets/{dataset_id}")

    # --- jobs -------------------------------------------------------------------
    def _submit(self, body: dict) -> dict:
        return self._json("POST", "/v1/jobs", json=body)

    def train(self, dataset_id: str, recipe: str | None = None, **params: Any) -> dict:
        """Queue a train job of ``recipe`` (the service's default, ``"recommended"``, when
        None); ``params`` are the library's (``epochs=2, dim_h=4...``) and override the
        recipe's values."""
        if recipe is not None:
            params = {"recipe": recipe, **params}
        return self._submit({"kind": "train", "dataset_id": dataset_id, "params": params})

    def recipes(self) -> list[dict]:
        """The recipes a train job can name, the default first, with their parameters."""
        return self._json("GET", "/v1/recipes")

    def generate(self, model_id: str | None = None, *, dataset_id: str | None = None,
                 **params: Any) -> dict:
        """Queue a generate job from a model, or from a dataset's latest model.

        ``params``: ``sampling_strategy``, ``random_state``, ``output`` ("npz"
        or "zip") and ``content`` ("synthetic" or "balanced").
        """
        body: dict[str, Any] = {"kind": "generate", "params": params}
        if model_id is not None:
            body["model_id"] = model_id
        if dataset_id is not None:
            body["dataset_id"] = dataset_id
        return self._submit(body)

    def evaluate(self, dataset_id: str, **params: Any) -> dict:
        """Queue an evaluate job (``methods``, ``folds``, ``seeds``, ``profile``, ``augment``)."""
        return self._submit({"kind": "evaluate", "dataset_id": dataset_id, "params": params})

    def job(self, job_id: str) -> dict:
        return self._json("GET", f"/v1/jobs/{job_id}")

    def jobs(self, status: str | None = None, kind: str | None = None,
             dataset_id: str | None = None, limit: int = 100) -> list[dict]:
        """Jobs, newest first, filtered by whichever of the arguments are given."""
        query = {k: v for k, v in {"status": status, "kind": kind, "dataset_id": dataset_id,
                                   "limit": limit}.items() if v is not None}
        return self._json("GET", "/v1/jobs", params=query)

    def cancel(self, job_id: str) -> dict:
        """Cancel a job (idempotent); the job as it stands after the request."""
        return self._json("POST", f"/v1/jobs/{job_id}/cancel")

    def events(self, job_id: str, *,
               read_timeout: float | None = None) -> Generator[dict, None, None]:
        """The job's Server-Sent Events, one dict each: ``snapshot``, ``progress``... ``end``.

        Each is ``{"event", "id", "job", "data", "history"}``: ``data`` is what the
        event carried (the service sends the whole job first and last, and deltas
        between), ``job`` the job as it stands with every delta applied, and
        ``history`` the loss parts of every epoch ended so far (``[{"epoch",
        "losses"}]``, a train job's), whenever the stream was opened.

        ``read_timeout`` bounds the wait for each line (default: the client's
        timeout; the service sends a keep-alive comment every 15 s).
        """
        timeout = httpx.Timeout(self.timeout, read=read_timeout or self.timeout)
        job: dict[str, Any] = {}
        history: dict[int, dict] = {}
        with self._http.stream("GET", f"/v1/jobs/{job_id}/events", timeout=timeout,
                               headers={"Accept": "text/event-stream"}) as response:
            if not response.is_success:
                response.read()
                raise ApiError.from_response(response)
            for event in parse_sse(response.iter_lines()):
                data = event["job"]
                fields = {k: v for k, v in data.items() if k != "history"}
                whole = event["event"] in ("snapshot", "end") or not job
                job = fields if whole else {**job, **fields}
                for epoch in data.get("history") or []:  # a later run of an epoch wins
                    history[epoch["epoch"]] = epoch["losses"]
                yield {"event": event["event"], "id": event["id"], "job": job, "data": data,
                       "history": [{"epoch": e, "losses": history[e]} for e in sorted(history)]}

    def wait(self, job_id: str, on_progress: Callable[[dict], None] | None = None,
             timeout: float | None = None) -> dict:
        """Block until the job ends; its final state.

        Follows the event stream, calling ``on_progress(job)`` at each change;
        if the stream breaks, polls the job every :attr:`poll_seconds`.
        Raises ``TimeoutError`` after ``timeout`` seconds (the job goes on).
        """
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            if deadline is None:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"job {job_id} did not end within {timeout} s")
            return remaining

        try:
            with contextlib.closing(self.events(job_id, read_timeout=left())) as events:
                for event in events:
                    job = event["job"]
                    if event["event"] == "end" or job.get("status") in TERMINAL:
                        return job
                    if on_progress is not None:
                        on_progress(job)
                    left()
            logger.info("event stream of job %s ended early; polling", job_id)
        except (httpx.TransportError, ValueError) as exc:
            left()
            logger.info("event stream of job %s broke (%s); polling", job_id, exc)
        last = None
        while True:
            job = self.job(job_id)
            if job.get("status") in TERMINAL:
                return job
            if on_progress is not None and job != last:
                on_progress(job)
            last = job
            remaining = left()
            time.sleep(self.poll_seconds if remaining is None
                       else min(self.poll_seconds, remaining))

    def artifacts(self, job_id: str) -> list[dict]:
        """A succeeded job's files: ``name``, ``size``, ``sha256``, ``content_type``, ``url``."""
        return self._json("GET", f"/v1/jobs/{job_id}/artifacts")

    def download(self, job_id: str, name: str, dest: str | os.PathLike) -> Path:
        """Save an artifact at ``dest``, or in the folder ``dest`` as ``dest/name``.

        ``dest`` is a folder when it exists as one or ends with ``/``; a folder
        that does not exist yet is made.

        The bytes go to a temporary file beside the target and are renamed
        into place only once their SHA-256 matches the ``X-Checksum-SHA256``
        header; on a mismatch :class:`ChecksumMismatch` is raised and no file
        is left behind.
        """
        if not name or Path(name).name != name or name in (".", ".."):
            raise ValueError(f"an artifact name is a plain file name; got {name!r}")
        target = Path(dest)
        if target.is_dir() or os.fspath(dest).endswith(("/", os.sep)):
            target.mkdir(parents=True, exist_ok=True)
            target = target / name
        with self._http.stream("GET", f"/v1/jobs/{job_id}/artifacts/{name}") as response:
            if not response.is_success:
                response.read()
                raise ApiError.from_response(response)
            expected = response.headers.get("X-Checksum-SHA256", "").lower()
            # Not mkstemp: its files are private (0600); this one keeps the umask's mode.
            tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
            try:
                digest = hashlib.sha256()
                with open(tmp, "xb") as out:
                    for chunk in response.iter_bytes():
                        digest.update(chunk)
                        out.write(chunk)
                if not expected:
                    raise ChecksumMismatch(response.status_code, "checksum_missing",
                                           f"the service sent no X-Checksum-SHA256 for {name}")
                if digest.hexdigest() != expected:
                    raise ChecksumMismatch(
                        response.status_code, "checksum_mismatch",
                        f"{name} of job {job_id} has SHA-256 {digest.hexdigest()}, not the "
                        f"announced {expected}; nothing was written")
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        return target

    # --- models -----------------------------------------------------------------
    def models(self, dataset_id: str | None = None) -> list[dict]:
        query = {"dataset_id": dataset_id} if dataset_id else None
        return self._json("GET", "/v1/models", params=query)

    def model(self, model_id: str) -> dict:
        return self._json("GET", f"/v1/models/{model_id}")

    def delete_model(self, model_id: str) -> None:
        self._request("DELETE", f"/v1/models/{model_id}")

    def upload_model(self, path: str | os.PathLike) -> dict:
        """Upload a model: the folder the library's ``save()`` wrote, or a ``.zip`` of it."""
        path = Path(path)
        if path.is_dir():
            missing = [n for n in _MODEL_FILES if not (path / n).is_file()]
            if missing:
                raise ValueError(f"{path} is not a saved model: it lacks {missing}")
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                for n in _MODEL_FILES:
                    zf.write(path / n, n)
            blob, filename = buf.getvalue(), f"{path.name or 'model'}.zip"
        elif path.suffix.lower() == ".zip":
            blob, filename = path.read_bytes(), path.name
        else:
            raise ValueError(f"a model is a folder written by save() or a .zip of it; "
                             f"got {path}")
        return self._json("POST", "/v1/models",
                          files={"file": (filename, blob, "application/zip")})

    def samples(self, model_id: str, sampling_strategy: Any = "auto",
                random_state: int | None = None,
                near_copies: str = "keep") -> tuple[np.ndarray, np.ndarray]:
        """A few synthetic images at once: ``(images, labels)``, labels as class names.

        ``near_copies="drop"`` draws others in place of near-copies of real images
        (``"flag"`` marks them: see :meth:`samples_npz` for the whole answer).
        """
        with np.load(io.BytesIO(self.samples_npz(model_id, sampling_strategy, random_state,
                                                 near_copies)), allow_pickle=False) as data:
            return data["images"], data["labels"]

    def samples_npz(self, model_id: str, sampling_strategy: Any = "auto",
                    random_state: int | None = None, near_copies: str = "keep") -> bytes:
        """The synchronous samples endpoint's ``.npz``: ``images``, ``labels`` and, with
        ``near_copies="flag"``, ``near_copy``."""
        return self._request("POST", f"/v1/models/{model_id}/samples",
                             json={"sampling_strategy": sampling_strategy,
                                   "random_state": random_state,
                                   "near_copies": near_copies}).content


def parse_sse(lines: Iterable[str]) -> Iterator[dict]:
    """Server-Sent Events from text lines: ``{"event", "id", "job"}`` per event.

    ``event:``, ``data:`` (several are joined by newlines) and ``id:`` fields
    accumulate until a blank line dispatches the event; comments (``:``) and events without data
    are skipped. ``data`` is parsed as JSON.
    """
    event, event_id = "message", None
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield {"event": event, "id": event_id, "job": json.loads("\n".join(data))}
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value
    # An event cut off by the end of the stream is dropped, as the SSE spec says.


__all__ = ["ApiError", "ChecksumMismatch", "Client", "DEFAULT_URL", "parse_sse"]
