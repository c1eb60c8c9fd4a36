DROP VIEW IF EXISTS message_keys_15m_mv
