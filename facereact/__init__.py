"""facereact: listener facial reaction generation for the REACT challenge."""
__version__ = "0.1.0"
