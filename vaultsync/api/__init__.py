"""The local HTTP API: the operations (free of HTTP), the request handler and its route table, the connection plumbing and accept loop."""
