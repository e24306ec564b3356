"""jitnet.nn: layers, losses and the functional API (PyTorch names)."""
