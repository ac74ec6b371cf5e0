package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/exekra/hub/bench/internal/loadgen"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/hubclient"
)

// failoverInstances is how many runners instances the failover part runs:
// the Hub's own and the one --failover-instance starts, which it kills.
const failoverInstances = 2

// measureFailover starts a second runners instance (--failover-instance),
// has o.failoverRunners runners hold their claims (the agent's wait) across
// the two, kills that instance outright and measures how soon every runner
// gets the job created for it.
func measureFailover(ctx context.Context, api *hubclient.Client, o options) (loadgen.FailoverReport, error) {
	jr, err := newJobRunners(api, o, o.failoverRunners, true)
	defer cleanup(api, jr.regs)
	if err != nil {
		return loadgen.FailoverReport{}, err
	}
	instance := exec.Command(o.failoverInstance)
	instance.Stdout, instance.Stderr = os.Stderr, os.Stderr
	if err := instance.Start(); err != nil {
		return loadgen.FailoverReport{}, fmt.Errorf("--failover-instance: %w", err)
	}
	killed := false
	kill := func() error {
		killed = true
		return errors.Join(instance.Process.Kill(), ignoreKilled(instance.Wait()))
	}
	defer func() {
		if !killed {
			kill()
		}
	}()
	return loadgen.RunFailover(ctx, loadgen.FailoverConfig{
		Fleet:     &loadgen.Fleet{Runners: jr.sims, ClaimWait: agentClaimWait, Download: true, Errors: &loadgen.Errors{}},
		APIs:      jr.apis,
		Job:       runners.CreateJobRequest{Package: jr.pkg.Name, Version: jr.pkg.Version, Environment: runners.EnvDevelopment},
		Instances: failoverInstances,
		Kill:      kill,
		Metrics:   o.scrape(),
	})
}

// ignoreKilled is err of Wait unless it only says the process was killed.
func ignoreKilled(err error) error {
	var exit *exec.ExitError
	if errors.As(err, &exit) && !exit.Exited() {
		return nil // ended by a signal: the SIGKILL sent
	}
	return err
}
