package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

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
	pkg, err := loadgen.PublishNoop(api, o.pkg, fmt.Sprintf("1.0.%d", time.Now().UnixNano()))
	if err != nil {
		return loadgen.FailoverReport{}, err
	}
	regs, err := register(api, o.failoverRunners)
	defer cleanup(api, regs)
	if err != nil {
		return loadgen.FailoverReport{}, err
	}
	client, err := httpClient(o.ca, o.failoverRunners, 0)
	if err != nil {
		return loadgen.FailoverReport{}, err
	}
	sims := make([]loadgen.Runner, len(regs))
	for i, reg := range regs {
		if sims[i], err = loadgen.NewRunner(o.hub, reg.id, reg.secret, client, true); err != nil {
			return loadgen.FailoverReport{}, err
		}
	}
	apis := make([]*hubclient.Client, o.clients)
	for i := range apis {
		if apis[i], err = hubclient.New(o.hub, o.token, hubclient.Options{CAFile: o.ca, Timeout: time.Minute}); err != nil {
			return loadgen.FailoverReport{}, err
		}
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
		Fleet:     &loadgen.Fleet{Runners: sims, ClaimWait: agentClaimWait, Download: true, Errors: &loadgen.Errors{}},
		APIs:      apis,
		Job:       runners.CreateJobRequest{Package: pkg.Name, Version: pkg.Version, Environment: runners.EnvDevelopment},
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
