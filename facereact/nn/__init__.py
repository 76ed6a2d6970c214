"""Building blocks shared by the tokenizer and the generator."""
