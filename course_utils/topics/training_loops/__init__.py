"""Helpers of notebook 06 (training loops): loss landscapes and optimizers (``landscapes``),
the optimizer playground widget (``playground``) and the look at predictions (``results``)."""
