"""The CLI's commands beyond the pipeline: demo, init, infer, preview, record."""
