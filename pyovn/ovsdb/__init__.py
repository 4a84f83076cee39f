"""The OVSDB database: schema, data, transactions, storage, monitors and the server."""
