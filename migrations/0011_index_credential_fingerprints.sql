-- Runs that share a provider account take turns (Store+Claims): each claim finds the credentials
-- with the fingerprint of a running run's, from the few running runs, through this index.
CREATE INDEX credentials_fingerprint ON credentials (fingerprint);
