FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY clickhouse ./clickhouse
RUN pip install --no-cache-dir .
USER nobody
EXPOSE 8000
CMD ["chanalytics", "serve"]
