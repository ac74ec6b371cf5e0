package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/e2e/apiclient"
)

// TestGeneratedClient: a client oapi-codegen generated from the served
// document (apiclient) signs in, registers a runner, publishes a package,
// starts a job that a real agent runs, and reads the job's log — through
// the contract check like every other call of the suite.
func TestGeneratedClient(t *testing.T) {
	v := newVendor(t)
	h, _ := licensedHub(t, v)
	ctx := ctxT(t, 4*time.Minute)

	t.Run("the client is generated from the document the pilot serves", func(t *testing.T) {
		served := h.as("").must(http.StatusOK, "GET", "/api/v1/openapi.json", nil)
		raw, err := os.ReadFile("apiclient/openapi.json")
		if err != nil {
			t.Fatal(err)
		}
		var snapshot map[string]any
		if err := json.Unmarshal(raw, &snapshot); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(served, snapshot) {
			t.Fatal("apiclient/openapi.json is not the document the pilot serves: run go generate ./apiclient in e2e")
		}
	})

	anon, err := apiclient.NewClientWithResponses(h.gateway, apiclient.WithHTTPClient(insecure))
	if err != nil {
		t.Fatal(err)
	}
	login, err := anon.LoginWithResponse(ctx, apiclient.LoginRequest{Email: strings.ToLower(adminEmail), Password: goodPassword})
	if err != nil || login.JSON200 == nil {
		t.Fatalf("login: %v %s", err, answerOf(login))
	}
	if login.JSON200.User.Role != apiclient.UserRoleADMIN || login.JSON200.Token == "" {
		t.Fatalf("login answered %+v", login.JSON200.User)
	}
	c, err := apiclient.NewClientWithResponses(h.gateway, apiclient.WithHTTPClient(insecure),
		apiclient.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+login.JSON200.Token)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}

	reg, err := c.RegisterRunnerWithResponse(ctx, apiclient.RegisterRunnerRequest{Name: "client-runner",
		Environment: apiclient.RegisterRunnerRequestEnvironmentDevelopment, Labels: &[]string{"client"}})
	if err != nil || reg.JSON201 == nil {
		t.Fatalf("register: %v %s", err, answerOf(reg))
	}
	if reg.JSON201.Runner.Status != apiclient.RunnerStatusNeverConnected || !strings.HasPrefix(reg.JSON201.MachineSecret, "exk_ms_") {
		t.Fatalf("registered %+v", reg.JSON201.Runner)
	}

	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("package", "client-hello.zip")
	fw.Write(packageZip(t, "client-hello", "1.2.3", "read params\necho \"hello $EXEKRA_PARAM_WHO\"\n"))
	mw.Close()
	pub, err := c.PublishPackageWithBodyWithResponse(ctx, mw.FormDataContentType(), &form)
	if err != nil || pub.JSON201 == nil {
		t.Fatalf("publish: %v %s", err, answerOf(pub))
	}
	if pub.JSON201.Name != "client-hello" || pub.JSON201.Version != "1.2.3" || len(pub.JSON201.Sha256) != 64 {
		t.Fatalf("published %+v", pub.JSON201)
	}

	startAgent(t, h, reg.JSON201.Runner.Id, reg.JSON201.MachineSecret)
	key := rand.Text()
	job, err := c.CreateJobWithResponse(ctx, &apiclient.CreateJobParams{IdempotencyKey: &key}, apiclient.CreateJobRequest{
		Package: "client-hello", Environment: apiclient.CreateJobRequestEnvironmentDevelopment, Labels: &[]string{"client"},
		Parameters: &map[string]any{"who": "generated client"}})
	if err != nil || job.JSON201 == nil {
		t.Fatalf("start a job: %v %s", err, answerOf(job))
	}
	var done *apiclient.Job
	waitFor(t, 90*time.Second, "the job to finish", func() bool {
		got, err := c.GetJobWithResponse(ctx, job.JSON201.Id)
		if err != nil || got.JSON200 == nil {
			t.Fatalf("read the job: %v %s", err, answerOf(got))
		}
		done = got.JSON200
		return done.Status == apiclient.JobStatusSucceeded || done.Status == apiclient.JobStatusFailed || done.Status == apiclient.JobStatusCanceled
	})
	if done.Status != apiclient.JobStatusSucceeded || done.ExitCode == nil || *done.ExitCode != 0 || done.RunnerId == nil || *done.RunnerId != reg.JSON201.Runner.Id {
		t.Fatalf("job ended %+v", done)
	}

	after := 0
	logs, err := c.GetJobLogsWithResponse(ctx, done.Id, &apiclient.GetJobLogsParams{After: &after})
	if err != nil || logs.JSON200 == nil {
		t.Fatalf("read the logs: %v %s", err, answerOf(logs))
	}
	var text []string
	for _, l := range logs.JSON200.Lines {
		text = append(text, l.Message)
	}
	if !strings.Contains(strings.Join(text, "\n"), "hello generated client") {
		t.Fatalf("job logs: %q", text)
	}

	missing, err := c.GetJobWithResponse(ctx, "00000000-0000-4000-8000-000000000000")
	if err != nil || missing.JSON404 == nil || missing.JSON404.Error.Code != apiclient.ErrorDetailCodeNotFound {
		t.Fatalf("an unknown job: %v %s", err, answerOf(missing))
	}
}

// answerOf is an answer's status and body, for failure messages.
func answerOf(r interface {
	StatusCode() int
}) string {
	if reflect.ValueOf(r).IsNil() {
		return "(no answer)"
	}
	raw := reflect.ValueOf(r).Elem().FieldByName("Body").Bytes()
	return http.StatusText(r.StatusCode()) + " " + tail(string(raw), 300)
}
