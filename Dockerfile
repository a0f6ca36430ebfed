# First version: the library and its command line on a CUDA PyTorch image.
# The REST service (issue 4) will add its port, health check and data volume.
# No Docker engine runs on the development machines: this file is kept right
# by reading, not by building, until CI can build it.
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    MPLBACKEND=Agg

RUN useradd --create-home --uid 1000 app
WORKDIR /opt/deepclsmote

# Dependencies first, so source edits do not reinstall them. torch is already
# in the base image and satisfies the project's torch requirement.
COPY pyproject.toml README.md ./
COPY deepclsmote ./deepclsmote
COPY app ./app
RUN pip install .

USER app
WORKDIR /home/app
ENTRYPOINT ["deepclsmote"]
CMD ["--help"]
