-- A credential is bound to where it was given to be sent: the origin of the integration's
-- base_url and the placement of the secret (config.auth). Both are also in the sealed box's
-- authenticated data, so a box does not open for another binding. NULL for credentials stored
-- before this migration (sealed without a binding); a change of config drops those too.
ALTER TABLE credentials
    ADD COLUMN bound_origin text,
    ADD COLUMN bound_auth   text;
