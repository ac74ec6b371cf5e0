package natsapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/services/runners/internal/natsapi"
	"github.com/exekra/hub/services/runners/internal/postgres"
	"github.com/exekra/hub/services/runners/internal/schedule"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A runner reads a job's values only while it holds the job's current
// attempt, only the assets the job's package declares; refusals and reads
// are audited and counted.
func TestAgentAssetReads(t *testing.T) {
	h := newAssetsHarness(t)
	x := h.register(t, "x", runners.EnvStaging)
	y := h.register(t, "y", runners.EnvStaging)
	idle := h.register(t, "idle", runners.EnvStaging)
	h.mustAsset(t, "db_password", runners.AssetSecret, `"hunter2-value"`)
	h.mustAsset(t, "region", runners.AssetText, `"eu"`)
	h.recordWithAssets(t, "billing", "1.0.0", 1, "db_password", "region")
	h.recordWithAssets(t, "report", "1.0.0", 2, "region")

	jb := h.create(t, runners.CreateJobRequest{Package: "billing", Environment: runners.EnvStaging, RunnerID: x.Runner.ID})
	jr := h.create(t, runners.CreateJobRequest{Package: "report", Environment: runners.EnvStaging, RunnerID: y.Runner.ID})
	cb := h.mustClaim(t, x)
	cr := h.mustClaim(t, y)

	// A runner holding no job, one holding a job of another package, and
	// the holder naming an attempt it does not run are all refused.
	_, err := h.read(idle, jb.ID, 0)
	wantKind(t, err, errs.PermissionDenied)
	_, err = h.read(y, jb.ID, 0)
	wantKind(t, err, errs.PermissionDenied)
	_, err = h.read(x, jb.ID, cb.Attempt+1)
	wantKind(t, err, errs.PermissionDenied)
	_, err = h.read(x, jb.ID, -1)
	wantKind(t, err, errs.InvalidArgument)
	// Bad credentials never get that far.
	bad := x
	bad.MachineSecret = "wrong"
	_, err = h.read(bad, jb.ID, 0)
	if err == nil || errs.Is(err, errs.PermissionDenied) {
		t.Fatalf("bad credentials: %v", err)
	}

	// y's job declares only region: it never gets db_password.
	got := must[runners.AgentAssets](t)(h.read(y, jr.ID, cr.Attempt))
	if len(got.Items) != 1 || got.Items[0].Name != "region" || string(got.Items[0].Value) != `"eu"` {
		t.Fatalf("report job got %+v", got)
	}
	got = must[runners.AgentAssets](t)(h.read(x, jb.ID, 0))
	if len(got.Items) != 2 || got.Items[0].Name != "db_password" || string(got.Items[0].Value) != `"hunter2-value"` ||
		got.Items[0].Scope != runners.ScopeGlobal || got.Items[1].Name != "region" {
		t.Fatalf("billing job got %+v", got)
	}
	// Once the attempt ended the runner gets nothing more.
	if err := h.complete(x, jb.ID, cb.Attempt, runners.JobSucceeded); err != nil {
		t.Fatal(err)
	}
	_, err = h.read(x, jb.ID, cb.Attempt)
	wantKind(t, err, errs.PermissionDenied)

	var denied, reads []outboxEvent
	for _, ev := range h.events(t) {
		if strings.Contains(ev.Raw, "hunter2-value") {
			t.Fatalf("an audit event holds a value: %s", ev.Raw)
		}
		switch ev.Action {
		case runners.ActionAssetReadDenied:
			denied = append(denied, ev)
		case runners.ActionAssetRead:
			reads = append(reads, ev)
		}
	}
	if len(denied) != 4 || denied[0].Actor.ID != idle.Runner.ID || denied[1].Actor.ID != y.Runner.ID ||
		denied[0].Details["job_id"] != jb.ID || denied[0].Outcome != "failure" {
		t.Fatalf("denied events %+v", denied)
	}
	if len(reads) != 3 {
		t.Fatalf("read events %+v", reads)
	}
	r := reads[1]
	if r.Actor.Type != "runner" || r.Actor.ID != x.Runner.ID || r.Details["asset"] != "db_password" || r.Details["job_id"] != jb.ID ||
		r.Details["attempt"] != float64(cb.Attempt) || r.Details["runner_id"] != x.Runner.ID || r.Details["scope"] != runners.ScopeGlobal {
		t.Fatalf("read event %+v", r.Event)
	}
	want := `# HELP exekra_runners_asset_reads_total Runners' reads of their job's asset values by outcome: ok, denied (the runner does not hold the job), missing (a declared asset has no value for the runner), unavailable (the key file or the database).
# TYPE exekra_runners_asset_reads_total counter
exekra_runners_asset_reads_total{outcome="denied"} 5
exekra_runners_asset_reads_total{outcome="missing"} 0
exekra_runners_asset_reads_total{outcome="ok"} 2
exekra_runners_asset_reads_total{outcome="unavailable"} 0
`
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(want), "exekra_runners_asset_reads_total"); err != nil {
		t.Fatal(err)
	}
}

// A sealed value copied to another row (another asset, scope or version)
// does not open there: the read fails, it never yields the wrong value.
func TestMovedCiphertextDoesNotOpen(t *testing.T) {
	h := newAssetsHarness(t)
	reg := h.register(t, "r", runners.EnvStaging)
	h.mustAsset(t, "a_name", runners.AssetText, `"value-of-a"`)
	h.mustAsset(t, "b_name", runners.AssetText, `"value-of-b"`)
	h.mustSet(t, envScope("b_name", runners.EnvStaging), `"value-of-b-staging"`)
	h.recordWithAssets(t, "p", "1.0.0", 1, "b_name")

	// a's global ciphertext moved onto b's global row.
	_, err := h.pool.Exec(t.Context(), `UPDATE asset_values d SET kek_id = s.kek_id, wrapped_key = s.wrapped_key, ciphertext = s.ciphertext
		FROM asset_values s JOIN assets sa ON sa.id = s.asset_id, assets da
		WHERE sa.name = 'a_name' AND s.scope = 'global' AND da.name = 'b_name' AND d.asset_id = da.id AND d.scope = 'global'`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.getAsset(as(operator), "b_name")
	wantKind(t, err, errs.Unavailable)
	if strings.Contains(err.Error(), "value-of") {
		t.Fatalf("the error shows a value: %v", err)
	}
	// b's own global value moved to its Staging row (same asset, other scope).
	_, err = h.pool.Exec(t.Context(), `DELETE FROM asset_values v USING assets a WHERE a.id = v.asset_id AND a.name = 'b_name' AND v.scope = 'global'`)
	if err != nil {
		t.Fatal(err)
	}
	h.mustSet(t, global("b_name"), `"fresh-global"`)
	_, err = h.pool.Exec(t.Context(), `UPDATE asset_values d SET version = s.version, kek_id = s.kek_id, wrapped_key = s.wrapped_key, ciphertext = s.ciphertext
		FROM asset_values s, assets a WHERE a.name = 'b_name' AND s.asset_id = a.id AND s.scope = 'global'
		AND d.asset_id = a.id AND d.scope = 'environment'`)
	if err != nil {
		t.Fatal(err)
	}
	j := h.create(t, runners.CreateJobRequest{Package: "p", Environment: runners.EnvStaging})
	c := h.mustClaim(t, reg)
	_, err = h.read(reg, j.ID, c.Attempt)
	wantKind(t, err, errs.Unavailable)
	// A value's own row still opens.
	_, err = h.pool.Exec(t.Context(), `DELETE FROM asset_values v USING assets a WHERE a.id = v.asset_id AND a.name = 'b_name' AND v.scope = 'environment'`)
	if err != nil {
		t.Fatal(err)
	}
	got := must[runners.AgentAssets](t)(h.read(reg, j.ID, c.Attempt))
	if len(got.Items) != 1 || string(got.Items[0].Value) != `"fresh-global"` {
		t.Fatalf("got %+v", got)
	}
}

// A job whose package declares an asset no runner it could run on has a
// value for is refused at its start (asset_missing naming the asset and
// the environment), whether started by a user, a re-run or a schedule.
func TestJobStartNeedsDeclaredAssets(t *testing.T) {
	h := newAssetsHarness(t)
	s1 := h.register(t, "s1", runners.EnvStaging)
	s2 := h.register(t, "s2", runners.EnvStaging)
	h.recordWithAssets(t, "sync", "1.0.0", 1, "crm_login")
	start := func(runnerID string) (runners.Job, error) {
		return call[runners.Job](as(operator), h.harness, runners.SubjectJobCreate,
			runners.CreateJobRequest{Package: "sync", Environment: runners.EnvStaging, RunnerID: runnerID})
	}
	_, err := start("")
	wantKind(t, err, errs.AssetMissing)
	if !strings.Contains(err.Error(), "declares asset crm_login, which does not exist") {
		t.Fatalf("message: %v", err)
	}
	h.mustAsset(t, "crm_login", runners.AssetCredential, "")
	h.mustSet(t, envScope("crm_login", runners.EnvProduction), `{"username":"p","password":"p"}`)
	_, err = start("")
	wantKind(t, err, errs.AssetMissing)
	if !strings.Contains(err.Error(), "crm_login") || !strings.Contains(err.Error(), runners.EnvStaging) {
		t.Fatalf("message: %v", err)
	}
	// A value for one runner of the environment lets an untargeted job, or
	// one targeting that runner, start; not one targeting another runner.
	h.mustSet(t, runnerScope("crm_login", s1.Runner.ID), `{"username":"s1","password":"p"}`)
	j := must[runners.Job](t)(start(""))
	must[runners.Job](t)(start(s1.Runner.ID))
	_, err = start(s2.Runner.ID)
	wantKind(t, err, errs.AssetMissing)
	h.mustSet(t, envScope("crm_login", runners.EnvStaging), `{"username":"st","password":"p"}`)
	must[runners.Job](t)(start(s2.Runner.ID))

	// Gone again: a re-run is refused too.
	for _, at := range []runners.AssetValueRequest{envScope("crm_login", runners.EnvStaging), runnerScope("crm_login", s1.Runner.ID)} {
		must[runners.Asset](t)(call[runners.Asset](as(developer), h.harness, runners.SubjectAssetValueDelete, at))
	}
	_, err = call[runners.Job](as(operator), h.harness, runners.SubjectJobRerun, runners.RerunJobRequest{ID: j.ID})
	wantKind(t, err, errs.AssetMissing)

	// A value gone between the start and the claim: the read is asset_missing.
	c := h.mustClaim(t, s1)
	_, err = h.read(s1, c.ID, c.Attempt)
	wantKind(t, err, errs.AssetMissing)
	if !strings.Contains(err.Error(), "crm_login") {
		t.Fatalf("message: %v", err)
	}
	var n int
	if err := h.pool.QueryRow(t.Context(), "SELECT count(*) FROM jobs").Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d jobs, %v", n, err)
	}
}

// A schedule's fire of a package whose declared asset has no value starts
// no job: the fire is failed with the asset_missing message.
func TestScheduleFireNeedsDeclaredAssets(t *testing.T) {
	h := newAssetsHarness(t)
	h.register(t, "s1", runners.EnvStaging)
	h.recordWithAssets(t, "nightly", "1.0.0", 1, "smtp_login")
	h.mustAsset(t, "smtp_login", runners.AssetCredential, "")
	sched, err := schedule.NewService(schedule.Deps{Store: postgres.NewStore(h.pool, outbox.Writer{Service: "runners"}).Schedules(),
		Jobs: natsapi.ScheduleJobs(h.jobs), Log: h.log, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	sc := must[runners.Schedule](t)(sched.CreateSchedule(as(developer), runners.ScheduleSpec{Name: "n", Package: "nightly",
		Environment: runners.EnvStaging, IntervalSeconds: 3600}))
	_, err = sched.RunNow(as(operator), sc.ID, "")
	wantError(t, err, errs.AssetMissing, "smtp_login", runners.EnvStaging)
	// The scheduled fire fails with the message too.
	h.clock.Advance(time.Hour)
	if err := sched.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	var outcome, reason string
	if err := h.pool.QueryRow(t.Context(), `SELECT outcome, reason FROM schedule_fires WHERE schedule_id = $1 AND kind = 'scheduled' ORDER BY fire_time DESC LIMIT 1`,
		sc.ID).Scan(&outcome, &reason); err != nil {
		t.Fatal(err)
	}
	if outcome != runners.FireFailed || !strings.Contains(reason, "smtp_login") {
		t.Fatalf("scheduled fire %s: %s", outcome, reason)
	}
	h.mustSet(t, global("smtp_login"), `{"username":"u","password":"p"}`)
	f := must[runners.ScheduleFire](t)(sched.RunNow(as(operator), sc.ID, ""))
	if f.Outcome != runners.FireJobCreated {
		t.Fatalf("fire with the value set %+v", f)
	}
}
