"""The REST API (FastAPI): thin routes that turn HTTP into service calls and back."""
