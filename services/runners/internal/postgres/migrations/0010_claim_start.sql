-- migrate: expand
-- A claim may take its job up itself (Exekra-Claim-Start): the job is then
-- running under the claim's id from the start, and a repeat of the claim
-- (its reply lost) must find it there as well as among the claimed jobs
-- (jobs_claim_idx).
CREATE INDEX jobs_claim_running_idx ON jobs (runner_id, claim_id) WHERE status = 'running' AND claim_id IS NOT NULL;
