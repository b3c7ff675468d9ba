-- The id a patient's browser gives each message, so a message sent again after a lost answer is
-- recognised and stored once (the widget retries after network failures).
ALTER TABLE messages ADD COLUMN client_id TEXT;
CREATE UNIQUE INDEX messages_client_id ON messages (chat_id, client_id) WHERE client_id IS NOT NULL;
