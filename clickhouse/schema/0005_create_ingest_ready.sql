CREATE TABLE IF NOT EXISTS ingest_ready AS ingest_staging
