-- A refresh lease on an OAuth credential (TokenRefresher): one refresh per integration at a time
-- across every process, without a transaction held open over the call to the provider's token
-- endpoint. A process claims it in one statement while it is free or lapsed; it holds it for the
-- token call and the write of the new tokens, which releases it. A lease that lapsed (its holder
-- died) can be taken over. The supervisor reads it to defer stopping a run-task whose refresh is
-- in flight: the provider may already have rotated the refresh token, and only that process has
-- the new one.
ALTER TABLE credentials
    ADD COLUMN refresh_owner text,
    ADD COLUMN refresh_until timestamptz;
