// Package redisq carries job dispatch on Redis Streams: one stream per
// environment holding the pending jobs' entries, an index of which entry
// stands for which job (so a reconcile can tell what Redis lost), and one
// watcher per service instance that wakes the claims waiting there.
//
// A claim does not read through a consumer group: a group hands the next
// entry to whichever consumer reads, but a runner may only take jobs of its
// labels (and those aimed at it), so a group would need ack-and-re-add for
// every entry a runner may not run — reordering the queue, and with only
// non-matching runners waiting, re-adding (and waking them) in a loop.
// Instead a Lua script skips what the runner may not run and removes the
// oldest entry it may, atomically: each entry goes to one claimer. What a
// group's pending list would recover after a crash, the reconcile from
// PostgreSQL recovers (a taken entry whose claim never committed).
package redisq

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/redis/go-redis/v9"
)

// ScanLimit is how many of an environment's oldest entries a claim looks
// through for one its runner may run.
const ScanLimit = 5000

// Keys share one hash slot ({jobs}) so scripts may touch several of them.
const (
	indexKey = "exekra:{jobs}:queued"
	// markKey exists while Redis keeps what the queues wrote: its absence
	// tells a flush or a restart without data.
	markKey = "exekra:{jobs}:mark"
)

// claimKey notes the job a runner's claim took.
func claimKey(runnerID, claimID string) string {
	return "exekra:{jobs}:claim:" + runnerID + "/" + claimID
}

// StreamKey is an environment's stream.
func StreamKey(environment string) string { return "exekra:{jobs}:queue:" + environment }

// Queue implements job.Queue.
type Queue struct {
	rdb          redis.UniversalClient
	environments []string
}

var _ job.Queue = (*Queue)(nil)

// New returns the queues of environments on rdb.
func New(rdb redis.UniversalClient, environments []string) *Queue {
	return &Queue{rdb: rdb, environments: environments}
}

var enqueue = redis.NewScript(`
local id = redis.call('XADD', KEYS[1], '*', 'job', ARGV[1], 'attempt', ARGV[2], 'runner', ARGV[3], 'labels', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], id)
return id`)

// Enqueue adds entries (and indexes them) in one round trip.
func (q *Queue) Enqueue(ctx context.Context, es ...job.Entry) error {
	if len(es) == 0 {
		return nil
	}
	_, err := q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, e := range es {
			enqueue.Eval(ctx, p, []string{StreamKey(e.Environment), indexKey},
				e.JobID, e.Attempt, e.TargetRunnerID, strings.Join(e.Labels, ","))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue %d jobs: %w", len(es), err)
	}
	return nil
}

// take looks through the stream's oldest entries for one the runner may
// run: first 8 (most claims take the first), then 200 at a time. It answers
// false when the stream is empty, {} when none of its entries
// (up to the scan limit) is for the runner, and the entry taken with the
// stream's length after it otherwise. With a claim's note (KEYS[3]) it
// notes the job taken ("<job> <attempt>", for ARGV[3] seconds), and takes
// nothing while the note names a job that is not queued again and is not
// ARGV[4] (one the claim no longer holds): it answers {note} then. For a
// repeated claim (ARGV[5] = '1') it takes nothing while the mark (KEYS[4])
// is missing: the notes were lost, and not yet written again.
var take = redis.NewScript(`
if KEYS[3] then
  if ARGV[5] == '1' and redis.call('EXISTS', KEYS[4]) == 0 then return false end
  local held = redis.call('GET', KEYS[3])
  if held and held ~= ARGV[4] and redis.call('HEXISTS', KEYS[2], string.match(held, '^%S+')) == 0 then
    return {held}
  end
end
local have = {}
for i = 6, #ARGV do have[ARGV[i]] = true end
local start, seen, limit, count = '-', 0, tonumber(ARGV[2]), 8
while seen < limit do
  local batch = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', count)
  count = 200
  if #batch == 0 then
    if seen == 0 then return false end
    return {}
  end
  for _, e in ipairs(batch) do
    seen = seen + 1
    local f, v = e[2], {}
    for k = 1, #f, 2 do v[f[k]] = f[k + 1] end
    local ok = v['runner'] == '' or v['runner'] == ARGV[1]
    if ok and v['labels'] ~= '' then
      for l in string.gmatch(v['labels'], '[^,]+') do
        if not have[l] then ok = false break end
      end
    end
    if ok then
      redis.call('XDEL', KEYS[1], e[1])
      if redis.call('HGET', KEYS[2], v['job']) == e[1] then redis.call('HDEL', KEYS[2], v['job']) end
      if KEYS[3] then redis.call('SET', KEYS[3], v['job'] .. ' ' .. v['attempt'], 'EX', ARGV[3]) end
      return {v['job'], v['attempt'], v['runner'], v['labels'], tostring(redis.call('XLEN', KEYS[1]))}
    end
    start = '(' .. e[1]
  end
end
return {}`)

// Take removes and returns the oldest entry of environment the runner may
// run, and whether entries remain (for other runners). With a claim id
// (note.ClaimID) it notes which job that claim of the runner took, for
// job.ClaimNoteTTL, and takes none while the claim holds one: see job.Queue.
func (q *Queue) Take(ctx context.Context, environment, runnerID string, labels []string, note job.Note) (job.Taken, error) {
	keys := []string{StreamKey(environment), indexKey}
	replace, repeat := "", ""
	if note.ClaimID != "" {
		keys = append(keys, claimKey(runnerID, note.ClaimID), markKey)
		if note.Replace.JobID != "" {
			replace = noteOf(note.Replace)
		}
		if note.Repeat {
			repeat = "1"
		}
	}
	args := append([]any{runnerID, ScanLimit, int(job.ClaimNoteTTL / time.Second), replace, repeat}, toAny(labels)...)
	res, err := take.Run(ctx, q.rdb, keys, args...).StringSlice()
	switch {
	case err == redis.Nil:
		return job.Taken{}, nil
	case err != nil:
		return job.Taken{}, fmt.Errorf("take a job of %s: %w", environment, err)
	case len(res) == 0:
		return job.Taken{Left: true}, nil // entries, none for this runner
	case len(res) == 1:
		h, err := parseNote(res[0])
		if err != nil {
			return job.Taken{}, fmt.Errorf("take a job of %s: %w", environment, err)
		}
		return job.Taken{Held: &h}, nil
	case len(res) != 5:
		return job.Taken{}, fmt.Errorf("take a job of %s: unexpected answer %v", environment, res)
	}
	attempt, err := strconv.Atoi(res[1])
	if err != nil {
		return job.Taken{}, fmt.Errorf("take a job of %s: bad attempt %q", environment, res[1])
	}
	e := job.Entry{JobID: res[0], Attempt: attempt, Environment: environment, TargetRunnerID: res[2], Labels: []string{}}
	if res[3] != "" {
		e.Labels = strings.Split(res[3], ",")
	}
	return job.Taken{Entry: e, OK: true, Left: res[4] != "0"}, nil
}

// noteOf is how a claim's note names the job it took.
func noteOf(h job.Held) string { return h.JobID + " " + strconv.Itoa(h.Attempt) }

func parseNote(s string) (job.Held, error) {
	id, n, ok := strings.Cut(s, " ")
	attempt, err := strconv.Atoi(n)
	if !ok || err != nil || id == "" {
		return job.Held{}, fmt.Errorf("unreadable claim note %q", s)
	}
	return job.Held{JobID: id, Attempt: attempt}, nil
}

var remove = redis.NewScript(`
local id = redis.call('HGET', KEYS[2], ARGV[1])
if id then
  redis.call('XDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1`)

// Remove drops a job's entry.
func (q *Queue) Remove(ctx context.Context, environment, jobID string) error {
	if err := remove.Run(ctx, q.rdb, []string{StreamKey(environment), indexKey}, jobID).Err(); err != nil {
		return fmt.Errorf("remove job %s from its queue: %w", jobID, err)
	}
	return nil
}

// Missing returns those of ids the index has no entry for.
func (q *Queue) Missing(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	vals, err := q.rdb.HMGet(ctx, indexKey, ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("read job queue index: %w", err)
	}
	var out []string
	for i, v := range vals {
		if v == nil {
			out = append(out, ids[i])
		}
	}
	return out, nil
}

// Lost reports whether the mark is gone.
func (q *Queue) Lost(ctx context.Context) (bool, error) {
	n, err := q.rdb.Exists(ctx, markKey).Result()
	if err != nil {
		return false, fmt.Errorf("check the job queues' mark: %w", err)
	}
	return n == 0, nil
}

// Mark sets the mark.
func (q *Queue) Mark(ctx context.Context) error {
	if err := q.rdb.Set(ctx, markKey, "1", 0).Err(); err != nil {
		return fmt.Errorf("mark the job queues: %w", err)
	}
	return nil
}

// Renote writes claim notes that are missing, in one round trip.
func (q *Queue) Renote(ctx context.Context, ns ...job.Noted) error {
	if len(ns) == 0 {
		return nil
	}
	_, err := q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, n := range ns {
			p.SetNX(ctx, claimKey(n.RunnerID, n.ClaimID), noteOf(n.Held), job.ClaimNoteTTL)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("note %d claims again: %w", len(ns), err)
	}
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
