"""PyTorch experiments of the article (suite.py and mnist_files.py are torch-free)."""
