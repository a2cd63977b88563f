"""The campaign core: spec, validation, Ray Tune translation and the driver. No kopf or torch."""
