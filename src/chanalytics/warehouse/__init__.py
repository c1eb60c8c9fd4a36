"""The warehouse feed: the stored events as files, one per tenant and UTC day, written by
`chanalytics export` and, with `CHANALYTICS_EXPORT_DIR`, every day by the service."""
