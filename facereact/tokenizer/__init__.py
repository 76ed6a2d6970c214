"""Face tokenizer: one token per frame of 3DMM, decoded back to 3DMM and emotion."""
