-- Token refreshes move out of the child processes into their parent. A run-task or a check that
-- needs a new access token asks for one here (refresh_requests + 1, with the SHA-256 of the token
-- it holds: answered 401 to, or found due); the worker or API server that started it makes the
-- token call unless that token was replaced meanwhile, stores the answer and counts the request
-- served. The provider may rotate
-- the refresh token with its answer, and a child can be stopped at any moment (kill -9, its memory
-- limit); its parent is not, by anything a tenant or a provider controls. The refresh lease of 0010
-- still keeps one refresh per integration at a time, now between parents.
ALTER TABLE credentials
    ADD COLUMN refresh_requests bigint NOT NULL DEFAULT 0,
    ADD COLUMN refresh_served bigint NOT NULL DEFAULT 0,
    ADD COLUMN refresh_rejected bytea;
