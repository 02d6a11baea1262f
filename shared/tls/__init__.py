"""TLS for Bourse: the development certificate authority and the credentials services load from files."""
