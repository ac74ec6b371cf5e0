package job

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/pkgstore"
)

// Viewed is a job with why it waits ("" unless pending and asked for) and
// its attempts (nil unless asked for).
type Viewed struct {
	Job
	PendingReason string
	History       []Attempt
}

// Get returns a job with its attempts; a pending one with the reason it waits.
func (s *Service) Get(ctx context.Context, id string) (Viewed, error) {
	if err := firstError(requireOperator(ctx), checkID(id)); err != nil {
		return Viewed{}, err
	}
	j, err := s.Store.JobByID(ctx, id)
	if err != nil {
		return Viewed{}, err
	}
	v := Viewed{Job: j}
	if v.History, err = s.Store.Attempts(ctx, id); err != nil {
		return Viewed{}, fmt.Errorf("read attempts of job %s: %w", id, err)
	}
	if j.Status == StatusPending {
		if v.PendingReason, err = s.pendingReason(ctx, j); err != nil {
			return Viewed{}, err
		}
	}
	return v, nil
}

// pendingReason says why a pending job waits: no runner could ever take it,
// none that could is online, all that are online are busy, the license has
// expired, or (none of these) it is queued for the next claim.
func (s *Service) pendingReason(ctx context.Context, j Job) (string, error) {
	rs, err := s.Runners.RunnersOf(ctx, j.Environment)
	if err != nil {
		return "", err
	}
	rs = slices.DeleteFunc(rs, func(v RunnerStatus) bool {
		return (j.TargetRunnerID != "" && v.ID != j.TargetRunnerID) || !subset(j.Labels, v.Labels)
	})
	online := slices.ContainsFunc(rs, func(v RunnerStatus) bool {
		return v.Status != runners.StatusOffline && v.Status != runners.StatusNeverConnected
	})
	idle := slices.ContainsFunc(rs, func(v RunnerStatus) bool { return v.Status == runners.StatusOnline })
	switch {
	case len(rs) == 0:
		return runners.PendingNoRunner, nil
	case !online:
		return runners.PendingNoneOnline, nil
	case !idle:
		return runners.PendingAllBusy, nil
	}
	if err := s.License.AllowJob(ctx); errs.Is(err, errs.LicenseRequired) {
		return runners.PendingLicenseExpired, nil
	}
	return runners.PendingQueued, nil
}

// Page is one page of jobs and the cursor of the next ("" after the last).
type Page struct {
	Jobs       []Job
	NextCursor string
}

// DefaultPageSize and MaxPageSize bound List.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// List pages through jobs, newest first.
func (s *Service) List(ctx context.Context, q Query, cursor string) (Page, error) {
	if err := requireOperator(ctx); err != nil {
		return Page{}, err
	}
	if err := checkQuery(&q, cursor); err != nil {
		return Page{}, err
	}
	limit := q.Limit
	q.Limit++
	js, err := s.Store.ListJobs(ctx, q)
	if err != nil {
		return Page{}, err
	}
	page := Page{Jobs: js}
	if len(js) > limit {
		page.Jobs = js[:limit]
		last := page.Jobs[limit-1]
		page.NextCursor = encodeCursor(Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return page, nil
}

func checkQuery(q *Query, cursor string) error {
	if q.Limit == 0 {
		q.Limit = DefaultPageSize
	}
	switch {
	case q.Limit < 1 || q.Limit > MaxPageSize:
		return errs.Ef(errs.InvalidArgument, "limit must be from 1 to %d", MaxPageSize)
	case q.Environment != "" && !slices.Contains(runners.Environments, q.Environment):
		return errs.Ef(errs.InvalidArgument, "environment must be one of %s", strings.Join(runners.Environments, ", "))
	case q.Status != "" && !slices.Contains(runners.JobStatuses, q.Status):
		return errs.Ef(errs.InvalidArgument, "status must be one of %s", strings.Join(runners.JobStatuses, ", "))
	case q.RunnerID != "" && checkID(q.RunnerID) != nil:
		return errs.E(errs.InvalidArgument, "runner_id must be a runner's id")
	case q.Package != "" && pkgstore.ValidName(q.Package) != nil:
		return errs.E(errs.InvalidArgument, "package must be a package's name")
	case q.ScheduleID != "" && checkID(q.ScheduleID) != nil:
		return errs.E(errs.InvalidArgument, "schedule_id must be a schedule's id")
	case !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since):
		return errs.E(errs.InvalidArgument, "until must not be before since")
	}
	c, err := decodeCursor(cursor)
	q.After = c
	return err
}

type cursorJSON struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

func encodeCursor(c Cursor) string {
	b, _ := json.Marshal(cursorJSON{At: c.CreatedAt, ID: c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	var c cursorJSON
	if err != nil || json.Unmarshal(raw, &c) != nil || checkID(c.ID) != nil || c.At.IsZero() {
		return nil, errs.E(errs.InvalidArgument, "cursor is not one this service made")
	}
	return &Cursor{CreatedAt: c.At, ID: c.ID}, nil
}

// Logs returns up to limit (0: MaxLogLines) lines of a job's log after seq.
func (s *Service) Logs(ctx context.Context, id string, after int64, limit int) ([]LogLine, error) {
	if err := firstError(requireOperator(ctx), checkID(id)); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = MaxLogLines
	}
	if limit < 1 || limit > MaxLogLines || after < 0 {
		return nil, errs.Ef(errs.InvalidArgument, "limit must be from 1 to %d and after not negative", MaxLogLines)
	}
	if _, err := s.Store.JobByID(ctx, id); err != nil {
		return nil, err
	}
	return s.Store.Logs(ctx, id, after, limit)
}
