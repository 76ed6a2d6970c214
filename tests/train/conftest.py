TINY = ["--width", "16", "--layers", "1", "--heads", "2", "--context", "8", "--window", "16",
        "--batch-size", "8", "--warmup", "5", "--lr", "3e-3"]
