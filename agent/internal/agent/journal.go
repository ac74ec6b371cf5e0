package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// journalFile is the job journal's name in the state directory.
const journalFile = "exekra-runner-journal.json"

// Journal bounds: acknowledged entries are kept a week (so a job the Hub
// hands out again with the same attempt is recognised), at most maxJournal.
const (
	journalKeep = 7 * 24 * time.Hour
	maxJournal  = 1000
)

// jobResult is how a job ended, as reported to the Hub.
type jobResult struct {
	Status   string `json:"status"`
	ExitCode *int   `json:"exit_code"`
	Error    string `json:"error,omitempty"`
}

// journalEntry is one claimed attempt of a job. Result is set once it
// ended; Acked once the Hub took the result (or refused it for good).
type journalEntry struct {
	JobID      string     `json:"job_id"`
	Attempt    int        `json:"attempt"`
	ClaimedAt  time.Time  `json:"claimed_at"`
	Result     *jobResult `json:"result,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Acked      bool       `json:"acked,omitempty"`
}

// journal is the small local record that keeps a job from running twice
// and a result from being lost while the Hub is unreachable. Every change
// is written at once: to a temporary file, synced, then renamed over.
type journal struct {
	path    string
	mu      sync.Mutex
	entries []journalEntry
}

func openJournal(dir string) (*journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	j := &journal{path: filepath.Join(dir, journalFile)}
	data, err := os.ReadFile(j.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return j, nil
	case err != nil:
		return nil, fmt.Errorf("read the job journal: %w", err)
	}
	var f struct {
		Entries []journalEntry `json:"entries"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("the job journal %s is unreadable (%v); move it away to start afresh", j.path, err)
	}
	j.entries = f.Entries
	return j, nil
}

func (j *journal) find(id string, attempt int) int {
	for i, e := range j.entries {
		if e.JobID == id && e.Attempt == attempt {
			return i
		}
	}
	return -1
}

// lookup returns the entry of id and attempt, if any.
func (j *journal) lookup(id string, attempt int) (journalEntry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if i := j.find(id, attempt); i >= 0 {
		return j.entries[i], true
	}
	return journalEntry{}, false
}

// claimed records a claim before the job runs.
func (j *journal) claimed(id string, attempt int, now time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.find(id, attempt) >= 0 {
		return fmt.Errorf("job %s attempt %d is already in the journal", id, attempt)
	}
	j.prune(now)
	j.entries = append(j.entries, journalEntry{JobID: id, Attempt: attempt, ClaimedAt: now.UTC()})
	return j.save()
}

// finished records a job's result, not yet delivered.
func (j *journal) finished(id string, attempt int, r jobResult, now time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	i := j.find(id, attempt)
	if i < 0 {
		j.entries = append(j.entries, journalEntry{JobID: id, Attempt: attempt, ClaimedAt: now.UTC()})
		i = len(j.entries) - 1
	}
	t := now.UTC()
	j.entries[i].Result, j.entries[i].FinishedAt = &r, &t
	return j.save()
}

// acked records that the Hub has the result (or refused it for good).
func (j *journal) acked(id string, attempt int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	i := j.find(id, attempt)
	if i < 0 {
		return nil
	}
	j.entries[i].Acked = true
	return j.save()
}

// pending lists results not yet acknowledged, oldest first.
func (j *journal) pending() []journalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []journalEntry
	for _, e := range j.entries {
		if e.Result != nil && !e.Acked {
			out = append(out, e)
		}
	}
	return out
}

// prune drops acknowledged entries past journalKeep, and the oldest
// acknowledged or abandoned ones past maxJournal. Results still to deliver stay.
func (j *journal) prune(now time.Time) {
	kept := j.entries[:0]
	for _, e := range j.entries {
		if e.Acked && now.Sub(e.ClaimedAt) > journalKeep {
			continue
		}
		kept = append(kept, e)
	}
	j.entries = kept
	for over := len(j.entries) - maxJournal; over > 0; over-- {
		i := 0
		for i < len(j.entries) && j.entries[i].Result != nil && !j.entries[i].Acked {
			i++
		}
		if i == len(j.entries) {
			break
		}
		j.entries = append(j.entries[:i], j.entries[i+1:]...)
	}
}

func (j *journal) save() error {
	data, err := json.MarshalIndent(struct {
		Entries []journalEntry `json:"entries"`
	}{j.entries}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(j.path), ".journal-*")
	if err != nil {
		return fmt.Errorf("write the job journal: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write the job journal: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write the job journal: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write the job journal: %w", err)
	}
	if err := os.Rename(tmp.Name(), j.path); err != nil {
		return fmt.Errorf("write the job journal: %w", err)
	}
	if d, err := os.Open(filepath.Dir(j.path)); err == nil { // make the rename durable
		d.Sync()
		d.Close()
	}
	return nil
}
