"""Dashboard queries: time windows, SQL files, one service per endpoint."""
