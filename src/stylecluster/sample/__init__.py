"""The deterministic synthetic sample generator (`stylecluster sample`)."""
