"""The Qt user interface of IR-SDE Studio, one module per widget (see ARCHITECTURE.md)."""
