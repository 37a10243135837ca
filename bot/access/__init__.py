"""Who may see which order: signed identities, number formats and OrderAccess."""
