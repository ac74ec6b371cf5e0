package natsapi

import (
	"context"

	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/exekra/hub/services/runners/internal/runner"
)

// License asks the licensing service over NATS.
type License struct{ Client *natsrpc.Client }

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
	req := licensing.CheckRequest{Action: licensing.ActionJobCreate}
	_, err := natsrpc.Call[licensing.CheckResponse](ctx, l.Client, licensing.SubjectCheck, req)
	return err
}
