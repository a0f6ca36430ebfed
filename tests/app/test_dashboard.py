"""The dashboard at ``/`` in a real browser: Debian's Chromium, headless, driven by Playwright.

The service is the real one on a loopback port. A person can look at what the
browser saw: each step saves a screenshot under ``test-artifacts/dashboard/``.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from ..conftest import ROOT, SHARED_DATA, missing_data
from .server import LiveServer

playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
SHOTS = ROOT / "test-artifacts" / "dashboard"
#: Imbalanced MNIST: 60 images of digit 0 down to 8 of digit 9.
COUNTS = [60, 50, 40, 30, 25, 20, 15, 12, 10, 8]
TIMEOUT = 180_000  # ms: a job process starts, imports torch and trains on a shared CPU


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    if not Path(CHROMIUM).is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium",
                        pytrace=False)
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
            headless=True, args=CHROMIUM_ARGS, accept_downloads=True,
            viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        yield context
        context.close()


@pytest.fixture
def page(chromium):
    page = chromium.new_page()
    messages: list[str] = []
    page.on("pageerror", lambda exc: messages.append(str(exc)))
    yield page
    page.close()
    assert not messages, f"JavaScript errors on the page: {messages}"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("dashboard")).start()
    yield srv
    srv.stop()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def imbalanced_mnist_npz() -> bytes:
    from deepclsmote.datasets import load_idx_pair

    root = SHARED_DATA / "mnist"
    if not (root / "t10k-images-idx3-ubyte.gz").is_file():
        missing_data(f"the MNIST test set is not in {root}")
    X, y = load_idx_pair(root / "t10k-images-idx3-ubyte.gz", root / "t10k-labels-idx1-ubyte.gz")
    keep = np.concatenate([np.flatnonzero(y == c)[:n] for c, n in enumerate(COUNTS)])
    buf = io.BytesIO()
    np.savez(buf, images=X[keep], labels=y[keep])
    return buf.getvalue()


def drop_file(page, selector: str, name: str, data: bytes) -> None:
    """Drag and drop a file onto an element, as a person would from their file manager."""
    transfer = page.evaluate_handle(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name));
            return dt;
        }""", [name, base64.b64encode(data).decode()])
    page.dispatch_event(selector, "dragover", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def loss_points(page) -> int:
    return int(page.locator("#loss-chart").get_attribute("data-points") or 0)


def open_parameters(page) -> None:
    """Unfold the train form's parameters beyond the recipe."""
    page.locator("#train-advanced summary").click()


def set_fields(page, form: str, values: dict) -> None:
    for name, value in values.items():
        page.locator(f"{form} [name={name}]").fill(str(value))


def test_one_dataset_from_upload_to_a_balanced_set_and_a_report(service, page, tmp_path):
    page.goto(service.url + "/")
    expect(page.locator("#datasets-table")).to_contain_text("digits")
    shot(page, "01-datasets")

    # upload by drag and drop: the manifest, with its class counts and real images
    drop_file(page, "#dropzone", "mnist-imbalanced.npz", imbalanced_mnist_npz())
    expect(page.locator("h1")).to_have_text("Dataset mnist-imbalanced", timeout=60_000)
    expect(page.locator("#imbalance-ratio")).to_have_text("7.50")
    expect(page.locator("#class-counts rect.bar")).to_have_count(10)
    assert page.locator('#class-counts rect[data-class="9"] title').text_content() == "9: 8"
    grid = page.locator("#dataset-grid")
    expect(grid).to_have_attribute("src", re.compile("^blob:"))
    page.wait_for_function("document.getElementById('dataset-grid').naturalWidth > 0")
    shot(page, "02-manifest")
    dataset_url = page.url

    # train: the recipe first, the recommended one chosen; the other parameters are folded
    # away, each empty one showing the recipe's value; then watch the loss curve grow
    form = page.locator("#train-form")
    expect(form.locator("select[name=recipe]")).to_have_value("recommended")
    expect(form.locator("#recipe-about")).to_contain_text("residual decoding")
    expect(form.locator("[name=epochs]")).to_be_hidden()
    open_parameters(page)
    assert form.locator("[name=step_scale]").get_attribute("placeholder") == "1.5"
    assert form.locator("[name=w_compact]").input_value() == ""
    form.locator("select[name=recipe]").select_option("deepsmote-paper")
    expect(form.locator("[name=w_compact]")).to_be_disabled()     # DeepSMOTE has none
    assert form.locator("[name=step_scale]").get_attribute("placeholder") == "1"
    form.locator("select[name=recipe]").select_option("recommended")
    set_fields(page, "#train-form", {"epochs": 40, "dim_h": 4, "n_z": 8, "batch_size": 32})
    page.click("#train-start")
    expect(page.locator("#job-status")).to_contain_text(re.compile("queued|running"))
    page.wait_for_function(
        "Number(document.getElementById('loss-chart')?.dataset.points) >= 2", timeout=TIMEOUT)
    first = loss_points(page)
    expect(page.locator("#job-progress")).to_contain_text(re.compile(r"epoch \d+ of 40"))
    shot(page, "03-training")
    assert first < 40, "training ended before the page saw it run"
    page.wait_for_function(
        f"Number(document.getElementById('loss-chart')?.dataset.points) > {first}",
        timeout=TIMEOUT)
    expect(page.locator("#job-status")).to_have_text("succeeded", timeout=TIMEOUT)
    # at the end, the whole curve, from the job's history
    expect(page.locator("#loss-chart")).to_have_attribute("data-points", "40")
    assert page.locator("#loss-chart polyline[data-part=recon]").count() == 1
    expect(page.locator("#job-cancel")).to_be_hidden()
    shot(page, "04-trained")
    with page.expect_download() as info:  # a JSON artifact downloads as a file too
        page.click('#downloads button[data-name="history.json"]')
    history = json.loads(Path(info.value.path()).read_text())
    assert len(history) == 40 and {"loss", "recon"} <= set(history[0])

    # generate the balanced set: the preview grid, then the download
    page.click("#job-results a.button")
    expect(page.locator("#generate-form")).to_be_visible()
    expect(page.locator("#model-recipe")).to_have_text("recommended")
    page.locator("#generate-form select[name=content]").select_option("balanced")
    page.click("#generate-start")
    expect(page.locator("#job-status")).to_have_text("succeeded", timeout=TIMEOUT)
    page.wait_for_function("document.getElementById('synthetic-grid')?.naturalWidth > 0")
    # how good the new images are: near-copies, fidelity, novelty, with the rule stated
    expect(page.locator("#quality-summary")).to_contain_text(re.compile(
        r"^\d+ of \d+ synthetic images \(\d+\.\d %\) are near-copies of a real image"))
    expect(page.locator("#quality")).to_contain_text("closer than 99 %")
    expect(page.locator("#quality .quality-table tbody tr")).to_have_count(10)
    page.wait_for_function("document.getElementById('quality-preview')?.naturalWidth > 0")
    shot(page, "05-generated")
    with page.expect_download() as info:
        page.click('#downloads button[data-name="samples.npz"]')
    saved = tmp_path / "samples.npz"
    info.value.save_as(saved)
    with np.load(saved) as npz:
        labels = npz["labels"]
        assert npz["images"].shape[1:] == (28, 28)
    assert {str(c): int((labels == str(c)).sum()) for c in range(10)} == {
        str(c): 60 for c in range(10)}

    # counts per class instead: 7 new images of digit 9 alone, as PNGs in a zip
    page.click("#job-progress ~ p a >> text=model")
    form = page.locator("#generate-form")
    expect(form).to_be_visible()
    form.locator("input[name=strategy][value=counts]").check()
    expect(page.locator("#strategy-counts")).to_be_visible()
    page.fill('#strategy-counts input[data-cls="9"]', "7")
    form.locator("select[name=content]").select_option("synthetic")
    form.locator("select[name=output]").select_option("zip")
    page.click("#generate-start")
    expect(page.locator("#job-status")).to_have_text("succeeded", timeout=TIMEOUT)
    expect(page.locator("#job-results")).to_contain_text("7 synthetic images (9: 7)")
    expect(page.locator('#downloads button[data-name="samples.zip"]')).to_be_visible()

    # a smoke evaluation is a wiring check: labelled so, with no verdict and no "best"
    page.goto(dataset_url)
    form = page.locator("#evaluate-form")
    expect(form).to_be_visible()
    for box in form.locator("input[name=methods]").all():
        box.set_checked(box.get_attribute("value") in ("none", "ros"))
    set_fields(page, "#evaluate-form", {"folds": 2, "seeds": "0,1"})
    form.locator("select[name=profile]").select_option("smoke")
    form.locator("select[name=lr_schedule]").select_option("cosine")
    page.click("#evaluate-start")
    expect(page.locator("#job-status")).to_have_text("succeeded", timeout=TIMEOUT)
    smoke_id = page.url.rsplit("/", 1)[1]
    report = page.locator("#report")
    expect(report.locator("#wiring-check")).to_contain_text("Wiring check, not a result")
    assert report.locator(".answers li, .findings li").count() == 0
    assert "best ACSA" not in report.inner_text() and "Verdict" not in report.inner_text()
    # its table still shows the figures: no oversampling set against random oversampling,
    # pair by pair (2 folds of 2 seeds), and seed by seed
    expect(report.locator("table.report-table[data-augment] tbody tr")).to_have_count(2)
    expect(report.locator('tr[data-method="ros"]')).to_contain_text("±")
    expect(report.locator('tr[data-method="none"] td.vs-ros')).to_contain_text(re.compile(
        r"^[+−]\d+\.\d\d \(\d+\.\d\d\), [0-4] / [0-4]; "
        r"over 2 seeds [+−]\d+\.\d\d \(\d+\.\d\d\), [0-2] / [0-2]$"))
    expect(report.locator('tr[data-method="ros"] td.vs-ros')).to_have_text("")
    expect(report.locator('tr[data-method="none"] td.vs-ros-rarest')).to_contain_text(
        re.compile(r"^[+−]\d+\.\d\d \(\d+\.\d\d\), [0-4] / [0-4]; over 2 seeds "))
    expect(report.locator("svg.recall-chart rect")).to_have_count(20)
    # how new the images are: random oversampling repeats real ones, all near-copies
    expect(report.locator('#report-quality tr[data-quality-of="ros"]')).to_contain_text(
        "100.0 %")
    params = httpx.get(f"{service.url}/v1/jobs/{smoke_id}").json()["params"]
    assert params["lr_schedule"] == "cosine" and params["folds"] == 2

    # the same with a real budget (the classifiers only: minutes for a generator), and the
    # answer in words, first, with its time left while it runs; on the built-in imbalanced
    # digits, whose 8x8 images keep the classifiers' real budget to a minute on a CPU
    small = next(d["id"] for d in httpx.get(f"{service.url}/v1/datasets").json()
                 if d["name"] == "digits-imbalanced")
    page.goto(f"{service.url}/#/datasets/{small}")
    expect(page.locator("h1")).to_have_text("Dataset digits-imbalanced")
    form = page.locator("#evaluate-form")
    for box in form.locator("input[name=methods]").all():
        box.set_checked(box.get_attribute("value") in ("none", "ros"))
    set_fields(page, "#evaluate-form", {"folds": 2})
    form.locator("select[name=profile]").select_option("cpu")
    page.click("#evaluate-start")
    expect(page.locator("#job-progress")).to_contain_text(re.compile(r"about \d+ (s|min) left"),
                                                          timeout=TIMEOUT)
    expect(page.locator("#job-status")).to_have_text("succeeded", timeout=2 * TIMEOUT)
    report = page.locator("#report")
    expect(report.locator("#wiring-check")).to_have_count(0)
    expect(report.locator('.answers li[data-method="ros"]')).to_contain_text(re.compile(
        r"^On your data, random oversampling \(ros\) changed average per-class accuracy from "
        r"\d+\.\d % \(no oversampling\) to \d+\.\d % and the rarest classes' recall from "
        r"\d+\.\d % to \d+\.\d %\. Verdict: (helps|no clear difference|hurts), because "))
    # read on held-out folds of the data as it is, pooled over them
    expect(report.locator('.findings li[data-method="none"][data-split="fold"]')
           ).to_contain_text(re.compile(
               r"^none, classifier with augmentation, over 2 folds, held-out folds: "
               r"ACSA [+−-]\d+\.\d\d "))
    expect(report.locator("td.pooled")).to_have_count(2)
    report.locator("#glossary summary").click()
    expect(report.locator("#glossary")).to_contain_text("average class-specific accuracy")
    page.wait_for_function(
        "[...document.querySelectorAll('.figures img')].every((i) => i.naturalWidth > 0)")
    assert page.locator(".figures img").count() >= 1
    shot(page, "06-report")

    # every job on this dataset is listed on its page with its status
    evaluate_id = page.url.rsplit("/", 1)[1]
    params = httpx.get(f"{service.url}/v1/jobs/{evaluate_id}").json()["params"]
    assert params["profile"] == "cpu" and params["imbalance"] == "dataset"
    page.goto(dataset_url)
    expect(page.locator(".jobs-table tbody tr")).to_have_count(4)  # train, 2 generate, evaluate
    expect(page.locator('.jobs-table tr[data-status="succeeded"]')).to_have_count(4)
    expect(page.locator(f'.jobs-table tr[data-id="{smoke_id}"]')).to_be_visible()
    page.click("header nav a[data-nav=jobs]")
    expect(page.locator(f'.jobs-table tr[data-id="{evaluate_id}"]')).to_contain_text("succeeded")
    # with the names of their datasets and models, not only ids
    expect(page.locator(f'.jobs-table tr[data-id="{evaluate_id}"]')).to_contain_text(
        "digits-imbalanced")
    expect(page.locator(".jobs-table tbody")).to_contain_text("mnist-imbalanced · recommended")
    shot(page, "07-jobs")


#: GTSRB's 43 classes, by the names people give them: many, and some long.
GTSRB = [
    "Speed limit (20km/h)", "Speed limit (30km/h)", "Speed limit (50km/h)",
    "Speed limit (60km/h)", "Speed limit (70km/h)", "Speed limit (80km/h)",
    "End of speed limit (80km/h)", "Speed limit (100km/h)", "Speed limit (120km/h)",
    "No passing", "No passing for vehicles over 3.5 metric tons",
    "Right-of-way at the next intersection", "Priority road", "Yield", "Stop", "No vehicles",
    "Vehicles over 3.5 metric tons prohibited", "No entry", "General caution",
    "Dangerous curve to the left", "Dangerous curve to the right", "Double curve",
    "Bumpy road", "Slippery road", "Road narrows on the right", "Road work",
    "Traffic signals", "Pedestrians", "Children crossing", "Bicycles crossing",
    "Beware of ice/snow", "Wild animals crossing", "End of all speed and passing limits",
    "Turn right ahead", "Turn left ahead", "Ahead only", "Go straight or right",
    "Go straight or left", "Keep right", "Keep left", "Roundabout mandatory",
    "End of no passing", "End of no passing by vehicles over 3.5 metric tons"]


def test_43_classes_with_long_names_stay_readable(service, page):
    rng = np.random.default_rng(0)
    counts = [3 + 2 * i for i in range(len(GTSRB))]
    buf = io.BytesIO()
    np.savez(buf, images=rng.integers(0, 256, (sum(counts), 8, 8), dtype=np.uint8),
             labels=np.repeat(np.array(GTSRB), counts))
    page.goto(service.url + "/")
    page.set_input_files("#upload-file", files=[{
        "name": "signs.npz", "mimeType": "application/octet-stream", "buffer": buf.getvalue()}])
    expect(page.locator("h1")).to_have_text("Dataset signs", timeout=60_000)
    bars = page.locator("#class-counts rect.bar")
    expect(bars).to_have_count(43)
    # a row per class, each bar thick enough to see, each name whole and apart from the rest
    boxes = page.eval_on_selector_all("#class-counts svg text", """(els) => els.map((e) => {
        const r = e.getBoundingClientRect();
        return {text: e.textContent, top: r.top, bottom: r.bottom, right: r.right}; })""")
    boxes = [b for b in boxes if not re.fullmatch(r"[\d.]+k?", b["text"])]  # not the numbers
    assert sorted(b["text"] for b in boxes) == sorted(GTSRB)
    boxes.sort(key=lambda b: b["top"])
    assert all(a["bottom"] <= b["top"] + 0.5 for a, b in zip(boxes, boxes[1:], strict=False))
    left = min(r["x"] for r in page.eval_on_selector_all(
        "#class-counts rect.bar", "(els) => els.map((e) => e.getBoundingClientRect())"))
    assert max(b["right"] for b in boxes) <= left
    assert min(bars.nth(i).bounding_box()["height"] for i in (0, 42)) >= 8
    page.wait_for_function("document.getElementById('dataset-grid').naturalWidth > 0")
    shot(page, "13-forty-three-classes")


def test_a_running_job_can_be_cancelled(service, page):
    page.goto(service.url + "/")
    page.click("#datasets-table >> text=digits")
    open_parameters(page)
    set_fields(page, "#train-form", {"epochs": 2000, "dim_h": 4, "n_z": 4, "random_state": 5})
    page.click("#train-start")
    expect(page.locator("#job-status")).to_have_text("running", timeout=TIMEOUT)
    page.wait_for_function(
        "Number(document.getElementById('loss-chart')?.dataset.points) >= 1", timeout=TIMEOUT)
    # a page opened late draws the whole curve so far, from the first epoch
    job_url = f"{service.url}/v1/jobs/{page.url.rsplit('/', 1)[1]}"
    while (httpx.get(job_url).json()["progress"].get("epoch") or 0) < 3:
        page.wait_for_timeout(200)
    page.reload()
    page.wait_for_function(
        "Number(document.getElementById('loss-chart')?.dataset.points) >= 3", timeout=20_000)
    expect(page.locator("#loss-chart text").filter(has_text=re.compile(r"^epoch \d+$")).first
           ).to_have_text("epoch 1")  # the axis starts at the first epoch
    shot(page, "08-before-cancel")
    page.click("#job-cancel")
    expect(page.locator("#job-status")).to_have_text("cancelled", timeout=60_000)
    expect(page.locator("#job-cancel")).to_be_hidden()
    shot(page, "09-cancelled")


def mixed_size_zip() -> bytes:
    """Two classes of grey PNGs in three sizes."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i, (label, size) in enumerate([("a", (20, 10)), ("a", (16, 16)), ("a", (9, 30)),
                                           ("b", (16, 16)), ("b", (40, 20))]):
            image = io.BytesIO()
            Image.fromarray(np.full(size[::-1], 30 * i, np.uint8)).save(image, format="PNG")
            archive.writestr(f"{label}/{i}.png", image.getvalue())
    return buffer.getvalue()


def test_upload_options_resize_and_the_manifest_says_what_changed(service, page):
    page.goto(service.url + "/")
    page.click("#upload-options summary")
    expect(page.locator("#upload-fit option").first).to_have_text("stretch (default)")
    assert "stretch (the default" in page.locator("label", has=page.locator("#upload-fit")
                                                  ).get_attribute("title")
    page.fill("#upload-size", "16x16")
    page.select_option("#upload-fit", "pad")
    page.set_input_files("#upload-file", files=[{
        "name": "mixed.zip", "mimeType": "application/zip", "buffer": mixed_size_zip()}])
    expect(page.locator("h1")).to_have_text("Dataset mixed", timeout=60_000)
    expect(page.locator("#dataset-conversions")).to_contain_text(
        "3 of 5 images resized to 16x16 (fit=pad")
    shot(page, "11-upload-options")


def test_errors_show_the_apis_message_not_a_blank_page(service, page):
    page.goto(service.url + "/")
    page.set_input_files("#upload-file", files=[{
        "name": "broken.npz", "mimeType": "application/octet-stream", "buffer": b"not a zip"}])
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-text")).to_contain_text("npz")
    expect(page.locator("#upload-status")).to_have_text("upload refused")
    shot(page, "10-upload-refused")

    page.goto(service.url + "/#/jobs/" + "0" * 32)
    expect(page.locator("#error-text")).to_contain_text("not found")
    expect(page.locator("main h1")).to_have_text("Could not show this page")
    shot(page, "11-not-found")


def test_with_api_keys_the_dashboard_asks_for_one(make_server, page):
    srv = make_server(api_keys="alice:secret-a").start()
    page.goto(srv.url + "/")
    expect(page.locator("#error-text")).to_contain_text("API key")
    page.fill("#api-key", "secret-a")
    page.click("#key-form button")
    expect(page.locator("#datasets-table")).to_contain_text("digits")
    expect(page.locator("#error")).to_be_hidden()
    page.reload()  # the key is remembered in this browser
    expect(page.locator("#datasets-table")).to_contain_text("digits")
    shot(page, "12-with-key")
