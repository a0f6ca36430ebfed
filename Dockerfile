# The service (and the library's command line) on a CUDA PyTorch image, for GPU hosts.
# CI builds and runs it with buildah and podman on a stand-in base (.ci/container-test;
# the README says what that covers). Build it with BuildKit (Docker 23 or later) or:
#   podman build --format docker -t deepclsmote .   # the OCI format drops HEALTHCHECK
# and run it with docker-compose.yml, or:
#   docker run --gpus 1 -p 8000:8000 -v deepclsmote-data:/data \
#       -e DEEPCLSMOTE_API_KEYS="me:<key>" deepclsmote
#
# Build options, none of which stays in the image:
#   --build-arg BASE_IMAGE=<image>  another base with Python >= 3.11, pip, torch >= 2.5 and
#                                   torchvision >= 0.20; their versions are kept as they are
#   --secret id=pip_conf,src=<pip.conf>  pip's settings: index-url, extra-index-url, and
#                                        for a CA bundle "cert = /run/secrets/pip_cert"
#   --secret id=pip_cert,src=<ca.pem>    that CA bundle
ARG BASE_IMAGE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

# --- the wheel, built apart so that no build tree (build/, *.egg-info) reaches the image
FROM ${BASE_IMAGE} AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY deepclsmote ./deepclsmote
COPY app ./app
RUN --mount=type=secret,id=pip_conf --mount=type=secret,id=pip_cert \
    --mount=type=cache,id=deepclsmote-pip,target=/root/.cache/pip,sharing=locked \
    PIP_CONFIG_FILE=/run/secrets/pip_conf pip wheel --no-deps --wheel-dir /wheels .

# --- the service
FROM ${BASE_IMAGE} AS runtime
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg \
    DEEPCLSMOTE_DATA_DIR=/data \
    DEEPCLSMOTE_DEVICE=auto \
    DEEPCLSMOTE_HOST=0.0.0.0 \
    DEEPCLSMOTE_PORT=8000 \
    DEEPCLSMOTE_RUN_DIR=/tmp/deepclsmote

# uid 1000 owns the data volume's files; some bases already have a user with that uid.
RUN (id -u app >/dev/null 2>&1 || useradd --create-home --non-unique --uid 1000 app) \
 && mkdir -p /data && chown app:app /data
WORKDIR /opt/deepclsmote

# The versions CI tests (constraints.txt), with the base's own torch and torchvision
# pinned, so pip adds the rest and never replaces them ([scale]: Celery, Redis and
# PostgreSQL clients, for the same image as a scaled-out API node or worker).
# (The wheel is copied, not bind-mounted: buildah's layer cache, up to 1.28 at least,
# ignores what a mount from another stage brings, and would keep an old install.)
COPY constraints.txt ./
COPY --from=wheel /wheels /tmp/wheels
RUN --mount=type=secret,id=pip_conf --mount=type=secret,id=pip_cert \
    --mount=type=cache,id=deepclsmote-pip,target=/root/.cache/pip,sharing=locked \
    python -c "from importlib.metadata import version as v; \
print(f'torch=={v(\"torch\")}'); print(f'torchvision=={v(\"torchvision\")}')" \
        > constraints-base.txt \
 && PIP_CONFIG_FILE=/run/secrets/pip_conf pip install -c constraints.txt \
        -c constraints-base.txt "$(ls /tmp/wheels/deepclsmote-*.whl)[scale]" \
 && rm -r /tmp/wheels

USER app
WORKDIR /home/app
VOLUME ["/data"]
EXPOSE 8000
# `deepclsmote health` asks the server (or worker) this container started, on the port
# it listens on (DEEPCLSMOTE_PORT, 8000 here); it takes about a second.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["deepclsmote", "health"]
# Listening on 0.0.0.0 needs API keys (DEEPCLSMOTE_API_KEYS): without them the service
# refuses to start open to the network. A worker: `worker --gpu 0` (docker-compose.scale.yml).
ENTRYPOINT ["deepclsmote"]
CMD ["serve"]

# --- the library's fast tests on this image's torch: build with --target test
FROM runtime AS test
USER root
WORKDIR /opt/deepclsmote
RUN --mount=type=secret,id=pip_conf --mount=type=secret,id=pip_cert \
    --mount=type=cache,id=deepclsmote-pip,target=/root/.cache/pip,sharing=locked \
    PIP_CONFIG_FILE=/run/secrets/pip_conf pip install -c constraints.txt \
        -c constraints-base.txt pytest hypothesis
COPY pyproject.toml ./
COPY tests ./tests
RUN chown app /opt/deepclsmote  # the tests' own files (.hypothesis)
USER app
ENTRYPOINT ["python", "-m", "pytest", "-p", "no:cacheprovider"]
CMD ["-m", "not slow and not cuda", "tests/test_sampler.py", "tests/test_checkpoint.py", \
     "tests/test_validation.py", "tests/test_recipes.py", "tests/test_generation.py", \
     "tests/test_losses.py", "tests/test_nn.py", "tests/test_sampling_strategy.py"]

# --- the image that ships: the service (the default target)
FROM runtime
LABEL org.opencontainers.image.title="deepclsmote" \
      org.opencontainers.image.description="DeepCLSMOTE and DeepSMOTE as a REST service" \
      org.opencontainers.image.licenses="MIT"
