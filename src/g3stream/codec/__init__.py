"""The sans-I/O codec: bytes in, frames out, and the reverse; no file or socket here."""
