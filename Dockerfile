# The service (and the library's command line) on a CUDA PyTorch image, for GPU hosts.
# No Docker engine runs on the development machines: this file is kept right by
# reading, not by building. Run it with docker-compose.yml, or:
#   docker run --gpus 1 -p 8000:8000 -v deepclsmote-data:/data \
#       -e DEEPCLSMOTE_API_KEYS="me:<key>" deepclsmote
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    MPLBACKEND=Agg \
    DEEPCLSMOTE_DATA_DIR=/data \
    DEEPCLSMOTE_DEVICE=auto

RUN useradd --create-home --uid 1000 app \
 && mkdir /data && chown app:app /data
WORKDIR /opt/deepclsmote

# torch and torchvision come with the base image and satisfy the project's
# requirements, so pip adds only the rest ([scale]: Celery, Redis and
# PostgreSQL clients, for the same image as a scaled-out API node or worker).
COPY pyproject.toml README.md ./
COPY deepclsmote ./deepclsmote
COPY app ./app
RUN pip install '.[scale]'

USER app
WORKDIR /home/app
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/v1/health', timeout=4).status != 200)"
# Binding 0.0.0.0 needs API keys (DEEPCLSMOTE_API_KEYS): without them the
# service refuses to start open to the network.
ENTRYPOINT ["deepclsmote"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
