"""Check functions, one module per assignment folder (``ex01_conv_arithmetic`` …)."""
