"""The trained part: fine-tuning, codebook heads on the frozen encoder, and the model card."""
