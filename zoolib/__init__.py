"""zoolib: the Small CNN Zoo and predicting a network's accuracy from its weights.

Companion to Unterthiner et al., "Predicting Neural Network Accuracy from Weights" (arXiv 2002.11448).
"""

__version__ = "0.1.0"
