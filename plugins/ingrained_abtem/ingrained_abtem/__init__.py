"""ingrained_abtem: multislice HAADF STEM through abTEM (imported only when first used)."""
