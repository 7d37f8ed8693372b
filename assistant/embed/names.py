"""The embedder names accepted in ASSISTANT_EMBED_MODEL (and recorded in every store)."""

LOCAL_Q8 = "local:minilm-l6-q8"  # the packaged model with int8 kernels (the default)
LOCAL_SHIPPED = "local:minilm-l6"  # the packaged model as shipped (fp32)
ACCEPTED = f"{LOCAL_Q8} (default), {LOCAL_SHIPPED}, openai:<model>"
