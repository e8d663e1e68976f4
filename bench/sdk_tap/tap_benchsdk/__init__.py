"""Hand-written Singer SDK tap used as the benchmark baseline."""
