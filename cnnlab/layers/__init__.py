"""Building blocks that several architectures share, one concept per file (as timm's ``layers``)."""
