# Two images from one wheel (BuildKit, or buildah: `make images` picks what the machine has):
#   docker build --target operator -t ghcr.io/hpo-operator/operator:0.1.0 .   (kopf; no Ray, no torch)
#   docker build --target trainer  -t ghcr.io/hpo-operator/trainer:0.1.0 .    (Ray head/workers + driver)
# Bases: the wheel stage and the operator on PYTHON_IMAGE; the trainer on RAY_IMAGE, Ray's GPU
# image (CUDA), with the CUDA build of torch from PyPI. No `# syntax=` line: pulling a Dockerfile
# frontend image would make a build on a machine without a registry fail before it starts.
ARG PYTHON_IMAGE=python:3.11-slim
# Must match the ray[tune] pin in pyproject.toml and the chart's campaigns.rayVersion.
ARG RAY_IMAGE=rayproject/ray:2.60.0-py311-gpu
# PIP_CONFIG_FILE (a build argument, unset by default): pip settings of the build's own, mounted
# for the build only; scripts/build-images.sh uses it for a proxy's CA and, in test builds, a
# local CPU wheel of torch. The shipped images install what PyPI serves.

FROM ${PYTHON_IMAGE} AS wheel
ARG PIP_CONFIG_FILE
WORKDIR /src
RUN pip install --no-cache-dir build==1.2.2
COPY pyproject.toml README.md ./
COPY operator operator
COPY trainer trainer
RUN python -m build --wheel --outdir /dist

FROM ${PYTHON_IMAGE} AS operator
ARG PIP_CONFIG_FILE
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin hpo
RUN --mount=type=bind,from=wheel,source=/dist,target=/dist \
    pip install --no-cache-dir "$(ls /dist/*.whl)[operator]"
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 9090 8080
ENTRYPOINT ["hpo"]
CMD ["operator"]

FROM ${RAY_IMAGE} AS trainer
ARG PIP_CONFIG_FILE
# The Ray image already runs as its non-root user "ray" (uid 1000); install into its environment.
RUN --mount=type=bind,from=wheel,source=/dist,target=/dist \
    pip install --no-cache-dir "$(ls /dist/*.whl)[trainer]"
ENV PYTHONUNBUFFERED=1
# Any uid may run this image (a pod's runAsUser, OpenShift's arbitrary uids with no passwd entry,
# whose HOME is then /): HOME is a directory every uid can write, for Ray's session token
# (~/.ray) and the trainer's data sets (~/.cache), in the driver and in every Ray worker process.
USER root
RUN install -d -m 1777 /home/hpo
ENV HOME=/home/hpo
USER 1000
