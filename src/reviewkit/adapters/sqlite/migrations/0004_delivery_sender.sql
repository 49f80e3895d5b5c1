-- reviewkit schema 4: a request may go out from one of its campaign's other sender accounts.

ALTER TABLE deliveries ADD COLUMN sender TEXT;
