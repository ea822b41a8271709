"""The Mesa model: the region's arrays (`state`), the yearly step (`model`), one module per rule
(`rules/`), outputs, scenarios and their loader, sweeps and the command line (`cli`)."""
