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

// License asks the licensing service over NATS. Made by NewLicense, it
// trusts a passed job.create check for JobCheckTTL, so a burst of job starts
// does not ask licensing for each job (an expired or replaced license stops
// job starts that much later); a refusal is never remembered.
type License struct {
	Client *natsrpc.Client
	jobs   *passed
}

// NewLicense returns a License that remembers passed job checks.
func NewLicense(client *natsrpc.Client) License {
	return License{Client: client, jobs: &passed{}}
}

// passed remembers until when a check passed.
type passed struct {
	mu    sync.Mutex
	until time.Time
}

func (p *passed) fresh(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return now.Before(p.until)
}

func (p *passed) pass(until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.until = until
}

var (
	_ runner.License = License{}
	_ job.License    = License{}
)

// AllowRunners asks licensing.SubjectCheck whether runners registered runners
// are allowed; license_required, license_limit and unavailable errors pass
// through as they come.
func (l License) AllowRunners(ctx context.Context, runners int) error {
	req := licensing.CheckRequest{Action: licensing.ActionRunnerRegister, Runners: runners}
	_, err := natsrpc.Call[licensing.CheckResponse](ctx, l.Client, licensing.SubjectCheck, req)
	return err
}

// AllowJob asks licensing.SubjectCheck whether new jobs are allowed.
func (l License) AllowJob(ctx context.Context) error {
	if l.jobs != nil && l.jobs.fresh(time.Now()) {
		return nil
	}
	asked := time.Now()
	req := licensing.CheckRequest{Action: licensing.ActionJobCreate}
	_, err := natsrpc.Call[licensing.CheckResponse](ctx, l.Client, licensing.SubjectCheck, req)
	if err == nil && l.jobs != nil {
		l.jobs.pass(asked.Add(JobCheckTTL))
	}
	return err
}
