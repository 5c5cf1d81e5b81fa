"""Domain services (writes) of the HR areas, one module per process area."""
