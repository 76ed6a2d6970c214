"""One trainer for every model: torchrun/DDP, AdamW with warm-up and cosine decay, exact resume."""
