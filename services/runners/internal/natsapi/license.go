package natsapi

import (
	"context"
	"sync"
	"time"

	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/exekra/hub/services/runners/internal/runner"
)

// JobCheckTTL is how long a passed job.create check is trusted.
const JobCheckTTL = 5 * time.Second

// License asks the licensing service over NATS. It has one behaviour, however
// it is used:
//
//   - a runner check (AllowRunners) always asks: the count it checks changes
//     with every registration;
//   - a passed job check (AllowJob) is trusted for JobCheckTTL, so a burst of
//     job starts asks licensing once; a license that expires or is replaced
//     stops job starts (and shows in a pending job's reason) at most that much
//     later. A refused job check is never remembered: the next one asks.
//
// Make it with NewLicense; one License may serve the registry and the jobs.
type License struct {
	client *natsrpc.Client
	now    func() time.Time

	mu         sync.Mutex
	jobsPassed time.Time // when the last passed job check was asked; zero: none
}

// NewLicense returns a License asking through client; now is its clock for
// JobCheckTTL (time.Now unless a test controls the clock).
func NewLicense(client *natsrpc.Client, now func() time.Time) *License {
	return &License{client: client, now: now}
}

var (
	_ runner.License = (*License)(nil)
	_ job.License    = (*License)(nil)
)

// AllowRunners asks licensing.SubjectCheck whether runners registered runners
// are allowed; license_required, license_limit and unavailable errors pass
// through as they come.
func (l *License) AllowRunners(ctx context.Context, runners int) error {
	req := licensing.CheckRequest{Action: licensing.ActionRunnerRegister, Runners: runners}
	_, err := natsrpc.Call[licensing.CheckResponse](ctx, l.client, licensing.SubjectCheck, req)
	return err
}

// AllowJob reports whether new jobs are allowed: at once while a check that
// passed less than JobCheckTTL ago stands, else by asking licensing.SubjectCheck.
func (l *License) AllowJob(ctx context.Context) error {
	asked := l.now()
	if l.jobPassStands(asked) {
		return nil
	}
	req := licensing.CheckRequest{Action: licensing.ActionJobCreate}
	_, err := natsrpc.Call[licensing.CheckResponse](ctx, l.client, licensing.SubjectCheck, req)
	if err == nil {
		l.jobPassed(asked)
	}
	return err
}

func (l *License) jobPassStands(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.jobsPassed.IsZero() && now.Before(l.jobsPassed.Add(JobCheckTTL))
}

// jobPassed records a pass asked at asked, unless a later one is recorded.
func (l *License) jobPassed(asked time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if asked.After(l.jobsPassed) {
		l.jobsPassed = asked
	}
}
