-- Retries that must not duplicate anything.
--
-- idempotency_key: a client's Idempotency-Key for POST /api/v1/jobs; a
-- repeat by the same user returns the job it created (request_hash tells
-- a repeat from a different request under the same key).
-- claim_id: the agent's Exekra-Claim-Id for its claim; when the claim's
-- reply is lost, the agent asks again with the same id and gets the same
-- job instead of leaving it to its lease.
-- unstarted_claims: claims whose runner never took the job up (it vanished
-- between the claim and its first word about it); they do not count
-- against max_attempts, since nothing ran.
ALTER TABLE jobs
    ADD COLUMN idempotency_key  text,
    ADD COLUMN request_hash     text,
    ADD COLUMN claim_id         text,
    ADD COLUMN unstarted_claims integer NOT NULL DEFAULT 0;

CREATE UNIQUE INDEX jobs_idempotency_idx ON jobs (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_claim_idx ON jobs (runner_id, claim_id) WHERE status = 'claimed';
