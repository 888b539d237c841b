-- `GET …/records?stream=` reads one stream of an integration in modification order: without
-- this index it walks every stream's records to find the one it wants.
CREATE INDEX records_stream_seq_idx ON records (integration_id, stream, seq);
