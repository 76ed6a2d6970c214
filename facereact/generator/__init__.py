"""The cross-modal autoregressive reaction generator: speaker stream in, listener tokens out."""
