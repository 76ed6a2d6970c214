"""The REACT challenge's baselines."""
