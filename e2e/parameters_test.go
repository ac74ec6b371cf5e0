package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// zipOf builds a package zip of the files given.
func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for n, body := range files {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// paramsScript prints the parameters as the program receives them: the
// JSON on standard input and each EXEKRA_PARAM_ variable.
const paramsScript = "read params\necho \"stdin: $params\"\nenv | grep '^EXEKRA_PARAM_' | sort\n"

// declaringManifest is the manifest of a package declaring one parameter of each type.
const declaringManifest = `{"name":"greet","version":"1.0.0","entrypoint":["/bin/sh","run.sh"],"parameters":[
	{"name":"who","type":"string","required":true,"description":"whom to greet"},
	{"name":"retries","type":"integer","default":3},
	{"name":"ratio","type":"number","default":0.5},
	{"name":"dry_run","type":"boolean","default":false,"description":"only say what would be done"}]}`

func errMessage(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// TestPackageParameters publishes a package that declares its parameters,
// reads the declaration back, starts a job whose runner receives the
// values with the defaults filled in, and has bad values refused naming
// the parameter.
func TestPackageParameters(t *testing.T) {
	v := newVendor(t)
	h, adminTok := licensedHub(t, v)
	id, secret := registerRunner(t, h, adminTok, "params-runner")
	startAgent(t, h, id, secret)
	waitFor(t, 30*time.Second, "the agent online", func() bool { return runnerStatus(t, h, adminTok, id) == "online" })

	bad := strings.Replace(declaringManifest, `"default":3`, `"default":"3"`, 1)
	code, raw := publish(t, h, adminTok, zipOf(t, map[string]string{"exekra.json": bad, "run.sh": paramsScript}))
	if code != http.StatusBadRequest || !strings.Contains(string(raw), `parameter \"retries\": default must be an integer`) {
		t.Fatalf("publishing a bad declaration = %d %s", code, raw)
	}
	if code, raw := publish(t, h, adminTok, zipOf(t, map[string]string{"exekra.json": declaringManifest, "run.sh": paramsScript})); code != http.StatusCreated {
		t.Fatalf("publish = %d %s", code, raw)
	}
	if code, raw := publish(t, h, adminTok, packageZip(t, "plain", "1.0.0", paramsScript)); code != http.StatusCreated {
		t.Fatalf("publish = %d %s", code, raw)
	}

	t.Run("the package API returns the declaration", func(t *testing.T) {
		vs := h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/packages/greet", nil)
		items := vs["items"].([]any)
		ps, _ := items[0].(map[string]any)["parameters"].([]any)
		if len(ps) != 4 {
			t.Fatalf("versions: %v", vs)
		}
		retries := ps[1].(map[string]any)
		if retries["name"] != "retries" || retries["type"] != "integer" || retries["required"] != false || retries["default"] != float64(3) {
			t.Fatalf("retries declared as %v", retries)
		}
		list := h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/packages", nil)
		for _, it := range list["items"].([]any) {
			p := it.(map[string]any)
			got, has := p["parameters"]
			switch p["name"] {
			case "greet":
				if l, _ := got.([]any); len(l) != 4 {
					t.Errorf("greet's parameters in the list: %v", got)
				}
			case "plain":
				if !has || got != nil {
					t.Errorf("a package declaring nothing: parameters %v (present %v), want null", got, has)
				}
			}
		}
	})

	t.Run("the runner gets the values with the defaults filled in", func(t *testing.T) {
		jid := startJob(t, h, adminTok, "greet", map[string]any{"parameters": map[string]any{"who": "world", "ratio": 0.25}})
		job := h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/jobs/"+jid, nil)
		var params map[string]any
		b, _ := json.Marshal(job["parameters"])
		json.Unmarshal(b, &params)
		if params["who"] != "world" || params["ratio"] != 0.25 || params["retries"] != float64(3) || params["dry_run"] != false {
			t.Fatalf("job parameters %s", b)
		}
		if final := waitJob(t, h, adminTok, jid, 60*time.Second); final["status"] != "succeeded" {
			t.Fatalf("job ended %v", final)
		}
		logs := h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/jobs/"+jid+"/logs?after=0", nil)
		var text strings.Builder
		for _, l := range logs["lines"].([]any) {
			text.WriteString(l.(map[string]any)["message"].(string) + "\n")
		}
		for _, want := range []string{`"retries":3`, `"dry_run":false`, `"who":"world"`, `"ratio":0.25`,
			"EXEKRA_PARAM_WHO=world", "EXEKRA_PARAM_RETRIES=3", "EXEKRA_PARAM_RATIO=0.25", "EXEKRA_PARAM_DRY_RUN=false"} {
			if !strings.Contains(text.String(), want) {
				t.Fatalf("the program did not receive %s:\n%s", want, text.String())
			}
		}
	})

	t.Run("bad values are refused naming the parameter", func(t *testing.T) {
		for name, tc := range map[string]struct {
			params map[string]any
			msg    string
		}{
			"wrong type":       {map[string]any{"who": "w", "retries": "many"}, `parameter "retries": must be an integer`},
			"not whole":        {map[string]any{"who": "w", "retries": 2.5}, `parameter "retries": must be an integer`},
			"missing required": {map[string]any{"retries": 1}, `parameter "who": required, and missing`},
			"unknown":          {map[string]any{"who": "w", "colour": "red"}, `parameter "colour": the package declares no such parameter`},
		} {
			t.Run(name, func(t *testing.T) {
				out := h.as(adminTok).must(http.StatusBadRequest, "POST", "/api/v1/jobs",
					map[string]any{"package": "greet", "environment": "Development", "parameters": tc.params})
				if errCode(out) != "invalid_argument" || !strings.HasPrefix(errMessage(out), tc.msg) {
					t.Fatalf("answer %v, want invalid_argument starting %q", out, tc.msg)
				}
			})
		}
	})

	t.Run("a package declaring nothing takes any parameters", func(t *testing.T) {
		jid := startJob(t, h, adminTok, "plain", map[string]any{"parameters": map[string]any{"anything": []int{1, 2}}})
		if final := waitJob(t, h, adminTok, jid, 60*time.Second); final["status"] != "succeeded" {
			t.Fatalf("job ended %v", final)
		}
	})
}
