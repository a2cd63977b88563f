# syntax=docker/dockerfile:1
# Two images from one wheel:
#   docker build --target operator -t ghcr.io/hpo-operator/operator:0.1.0 .   (kopf; no Ray, no torch)
#   docker build --target trainer  -t ghcr.io/hpo-operator/trainer:0.1.0 .    (Ray head/workers + driver)
ARG PYTHON_IMAGE=python:3.11-slim
# Must match the ray[tune] pin in pyproject.toml and the chart's campaigns.rayVersion.
ARG RAY_IMAGE=rayproject/ray:2.60.0-py311-gpu

FROM ${PYTHON_IMAGE} AS wheel
WORKDIR /src
RUN pip install --no-cache-dir build==1.2.2
COPY pyproject.toml README.md ./
COPY operator operator
COPY trainer trainer
RUN python -m build --wheel --outdir /dist

FROM ${PYTHON_IMAGE} AS operator
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin hpo
RUN --mount=type=bind,from=wheel,source=/dist,target=/dist \
    pip install --no-cache-dir "$(ls /dist/*.whl)[operator]"
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 9090 8080
ENTRYPOINT ["hpo"]
CMD ["operator"]

FROM ${RAY_IMAGE} AS trainer
# The Ray image already runs as its non-root user "ray" (uid 1000); install into its environment.
RUN --mount=type=bind,from=wheel,source=/dist,target=/dist \
    pip install --no-cache-dir "$(ls /dist/*.whl)[trainer]"
ENV PYTHONUNBUFFERED=1
USER 1000
