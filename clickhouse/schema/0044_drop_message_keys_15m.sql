DROP TABLE IF EXISTS message_keys_15m
