"""The daemon: the watcher, the batch loop, its state files, and the API host it serves from."""
